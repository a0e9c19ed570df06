"""Draft trees (EAGLE-2): greedy tree decoding is target-only decoding for every drafter and architecture,
with sdpa and eager attention; tree sampling is distributed as the target; the pure verify on hand-built
distributions; the compacted cache is the cache a fresh forward of the accepted path gives."""

from pathlib import Path

import pytest
import torch
from scipy.stats import chisquare

from msd_demo.engine import DecodeConfig, SamplingConfig, speculative, target_only
from msd_demo.engine.drafters import HeadDrafter, ModelDrafter, PromptLookupDrafter
from msd_demo.engine.model_cache import CachedModel
from msd_demo.engine.tree import DraftShape, TreeConfig, finish, grow_draft, tree_attention
from msd_demo.engine.tree_verify import verify_tree_greedy, verify_tree_sampling
from msd_demo.errors import UserInputError
from msd_demo.inputs.media import Media, load_media
from msd_demo.measure.metrics import collect
from msd_demo.presets.lineup import Lineup, load_lineup
from tests import hub_models
from tests.tiny_models import random_head, sample_images

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Describe the picture in detail."
IMAGE = Media(tuple(sample_images()[:1]), "image", "image.png")
VIDEO = Media(tuple(sample_images()), "video", "video.mp4")
TREES = [TreeConfig(top_k=3, depth=3, nodes=8), TreeConfig(top_k=4, depth=4, nodes=16)]


def identical(target, drafter, media, config) -> bool:
    reference = collect(target_only(target, QUESTION, media, config)).token_ids
    return collect(speculative(target, QUESTION, media, drafter, config)).token_ids == reference


@pytest.fixture(scope="module")
def shipped():
    return load_lineup("tiny", None)


@pytest.mark.parametrize("media_file", ["shapes_2.png", "video_1.mp4"])
@pytest.mark.sweep
def test_greedy_trees_equal_target_only_for_every_shipped_drafter(shipped, media_file):
    media = load_media(ROOT / "assets" / media_file, 6)
    config = DecodeConfig(max_new_tokens=24, tree=TREES[1])
    for name in shipped.preset.drafters:
        reference = collect(target_only(shipped.target, QUESTION, media, config)).token_ids
        run = collect(speculative(shipped.target, QUESTION, media, shipped.drafter(name), config))
        assert run.token_ids == reference, name
        if name != "prompt-lookup":  # a chain whatever the shape
            assert max(len(step.drafted) for step in run.steps) > TREES[1].depth, name


def _stand_in_drafters(family, llava_lineup, qwen2vl, qwen25vl):
    if family == "llava":
        return llava_lineup.target, {name: llava_lineup.drafter(name) for name in ("model", "text-only", "msd", "flash", "vispec")}
    if family == "qwen2vl":
        target = qwen2vl["target"]
        return target, {"model": ModelDrafter("model", qwen2vl["draft"]), "text-only": ModelDrafter("text-only", qwen2vl["text"]),
                        "msd": HeadDrafter("msd", random_head(target.model), target), "prompt-lookup": PromptLookupDrafter()}
    return qwen25vl.target, {name: qwen25vl.drafter(name) for name in qwen25vl.preset.drafters}


@pytest.fixture(scope="module")
def qwen25vl(tmp_path_factory, tokenizer):
    return Lineup(hub_models.qwen25vl(tmp_path_factory.mktemp("qwen25vl"), tokenizer))


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("family", ["llava", "qwen2vl", "qwen2.5-vl"])
@pytest.mark.sweep
def test_greedy_trees_equal_target_only_on_the_stand_ins(llava_lineup, qwen2vl, qwen25vl, family, attention):
    target, drafters = _stand_in_drafters(family, llava_lineup, qwen2vl, qwen25vl)
    models = [target.model] + [d.draft.model for d in drafters.values() if isinstance(d, ModelDrafter)]
    saved = [model.config._attn_implementation for model in models]
    for model in models:
        model.set_attn_implementation(attention)
    try:
        for media in (IMAGE, VIDEO):
            for tree in TREES:
                config = DecodeConfig(max_new_tokens=20, tree=tree)
                for name, drafter in drafters.items():
                    assert identical(target, drafter, media, config), (family, attention, media.kind, tree, name)
    finally:
        for model, implementation in zip(models, saved):
            model.set_attn_implementation(implementation)


def test_dynamic_chains_stop_early_and_stay_identical(llava_lineup):
    config = DecodeConfig(max_new_tokens=30, gamma=8, dynamic_threshold=0.5)
    run = collect(speculative(llava_lineup.target, QUESTION, IMAGE, llava_lineup.drafter("model"), config))
    reference = collect(target_only(llava_lineup.target, QUESTION, IMAGE, config)).token_ids
    assert run.token_ids == reference
    assert any(0 < len(step.drafted) < 8 for step in run.steps[:-2])  # the random draft is rarely sure


@pytest.mark.slow
def test_tree_sampling_is_distributed_as_the_target(llava_lineup):
    """The first two tokens over many seeds, through the whole engine, with a draft whose vocabulary is narrower
    than the target's (padded): their joint law is p(t1) p(t2 | t1), computed from the target directly."""
    target, drafter, runs = llava_lineup.target, llava_lineup.drafter("model"), 1500
    sampling = dict(temperature=0.7, top_p=0.95)
    counts: dict[tuple[int, int], int] = {}
    for seed in range(runs):
        config = DecodeConfig(max_new_tokens=2, tree=TreeConfig(3, 2, 9), sampling=SamplingConfig(seed=seed, **sampling))
        pair = tuple(collect(speculative(target, QUESTION, IMAGE, drafter, config)).token_ids)
        counts[pair] = counts.get(pair, 0) + 1
    expected = _joint_first_two(target, SamplingConfig(**sampling))
    observed_cells = sorted(expected, key=lambda pair: -expected[pair])
    big = [pair for pair in observed_cells if expected[pair] * runs >= 5]
    observed = [counts.get(pair, 0) for pair in big] + [runs - sum(counts.get(pair, 0) for pair in big)]
    wanted = [expected[pair] * runs for pair in big] + [runs * (1 - sum(expected[pair] for pair in big))]
    assert len(big) >= 3
    assert chisquare(observed, wanted).pvalue > 1e-3


@torch.inference_mode()
def _joint_first_two(target, sampling) -> dict[tuple[int, int], float]:
    from msd_demo.engine.sampling import probabilities

    cache = CachedModel(target.model)
    p1 = probabilities(cache.prefill(target.prompt(QUESTION, IMAGE).model_inputs), sampling)
    joint = {}
    for first in p1.nonzero().flatten().tolist():
        p2 = probabilities(cache.forward([first])[-1], sampling)
        cache.rollback(1)
        for second in p2.nonzero().flatten().tolist():
            joint[(first, second)] = float(p1[first] * p2[second])
    return joint


def _rows(*tokens_per_row, vocab=6):
    return torch.nn.functional.one_hot(torch.tensor(tokens_per_row), vocab).float()


def _scripted_scorer(rows_by_depth: dict[int, torch.Tensor]):
    """A drafter whose q after a node depends only on the node's depth (depth 0: the root)."""
    return lambda tree, frontier: rows_by_depth[int(tree.depths[frontier[0]])].expand(len(frontier), -1)


def test_a_greedy_chain_draws_one_child_a_depth_and_ends_before_a_node_q_never_drew():
    q = {depth: _rows(token)[0] * 0.9 + 0.1 / 6 for depth, token in enumerate((3, 5, 1, 4))}
    greedy = SamplingConfig(temperature=0.0)
    tree = grow_draft(q[0], _scripted_scorer(q), DraftShape(1, 4, 4), greedy, None)
    assert tree.tokens.tolist() == [3, 5, 1, 4] and tree.parents.tolist() == [-1, 0, 1, 2]
    assert torch.equal(tree.ancestors, torch.ones(4, 4, dtype=torch.bool).tril())
    drafted = finish(tree, greedy)
    assert drafted.token_ids == [3, 5, 1, 4] and drafted.parents == [-1, 0, 1, 2]
    assert torch.equal(drafted.q, torch.stack([q[0], q[1], q[2], q[3]]))
    q[2] = torch.zeros(6)  # a broken q at depth 2: its node (and all after it) is dropped
    drafted = finish(grow_draft(q[0], _scripted_scorer(q), DraftShape(1, 4, 4), greedy, None), greedy)
    assert drafted.token_ids == [3, 5] and drafted.parents == [-1, 0] and torch.equal(drafted.q, torch.stack([q[0], q[1]]))


def test_a_greedy_tree_keeps_its_best_nodes_with_their_ancestors():
    q = {0: torch.tensor([0.0, 0.5, 0.3, 0.2, 0.0, 0.0]), 1: torch.tensor([0.0, 0.0, 0.0, 0.0, 0.6, 0.4])}
    greedy = SamplingConfig(temperature=0.0)
    tree = grow_draft(q[0], _scripted_scorer(q), DraftShape(2, 2, 4), greedy, None)
    # depth 1: tokens 1 (0.5), 2 (0.3); depth 2: 4 and 5 under each; the best four by path q: 1, 2, 1-4, 1-5
    assert tree.tokens.tolist() == [1, 2, 4, 5, 4, 5] and tree.parents.tolist() == [-1, -1, 0, 0, 1, 1]
    assert tree.ancestors[4].tolist() == [False, True, False, False, True, False]
    drafted = finish(tree, greedy)
    assert drafted.token_ids == [1, 2, 4, 5] and drafted.parents == [-1, -1, 0, 0]


def test_greedy_tree_verify_takes_the_longest_matching_path():
    # root -> a(1) b(2); a -> c(3); b -> d(4) -> e(5). The target says 2, then 4, then 5, then 0.
    parents, tokens = [-1, -1, 0, 1, 3], torch.tensor([1, 2, 3, 4, 5])
    p = _rows(2, 0, 4, 0, 5, 0)  # rows: root, a, b, c, d, e
    verdict = verify_tree_greedy(tokens, parents, p)
    assert verdict.path == [1, 3, 4] and verdict.next_token == 0
    assert verdict.accept_probabilities == (0.0, 1.0, 0.0, 1.0, 1.0)
    p[2] = _rows(1)[0]  # d is refused: the target corrects to 1 after b
    assert verify_tree_greedy(tokens, parents, p).path == [1] and verify_tree_greedy(tokens, parents, p).next_token == 1


def test_sampling_tree_verify_refuses_a_child_the_target_never_emits_and_tries_its_sibling():
    # root's children 1 then 2, drawn without replacement from q; the target emits only 2 after the root.
    q_root = torch.tensor([0.0, 0.6, 0.3, 0.1, 0.0, 0.0])
    q = torch.stack([q_root, q_root, torch.full((6,), 1 / 6)])
    p = torch.stack([_rows(2)[0], _rows(5)[0], _rows(3)[0], _rows(4)[0]])  # root, node 0, node 1, node 2 (leaf)
    parents, tokens = [-1, -1, 1], [1, 2, 4]
    verdict = verify_tree_sampling(tokens, parents, q, p, torch.Generator().manual_seed(0))
    # node 0 (token 1): p 0 -> refused; node 1 (token 2): residual is all on 2 -> accepted; node 2 (token 4)
    # after node 1: p there is all on 3 -> refused; the correction is 3.
    assert verdict.path == [1] and verdict.next_token == 3


@pytest.mark.slow
def test_sampling_tree_verify_is_distributed_as_the_target():
    """Three children of the root drawn without replacement from q: the first emitted token follows p."""
    vocab, trials = 5, 20_000
    generator = torch.Generator().manual_seed(3)
    p = torch.softmax(torch.randn(1, vocab, generator=generator) * 1.5, dim=-1)
    q = torch.softmax(torch.randn(vocab, generator=generator) * 1.5, dim=-1)
    counts = torch.zeros(vocab)
    for _ in range(trials):
        children = torch.multinomial(q, 3, replacement=False, generator=generator).tolist()
        p_rows = torch.cat([p, torch.full((3, vocab), 1 / vocab)])
        verdict = verify_tree_sampling(children, [-1, -1, -1], q.expand(3, vocab), p_rows, generator)
        counts[children[verdict.path[0]] if verdict.path else verdict.next_token] += 1
    assert chisquare(counts.numpy(), (p[0] * trials).numpy()).pvalue > 1e-3


@pytest.mark.parametrize("family", ["llava", "qwen2vl"])
def test_the_compacted_cache_is_a_fresh_forward_of_the_accepted_path(llava_lineup, qwen2vl, family):
    target = llava_lineup.target if family == "llava" else qwen2vl["target"]
    inputs = target.prompt(QUESTION, IMAGE).model_inputs
    parents, tokens, path = [-1, -1, 0, 1, 2, 2], [5, 6, 7, 8, 9, 10], [0, 2, 5]
    tree_cache, fresh = CachedModel(target.model), CachedModel(target.model)
    tree_cache.prefill(inputs)
    fresh.prefill(inputs)
    start = tree_cache.length
    depths, attend = tree_attention(parents, tree_cache.device)
    tree_logits = tree_cache.forward_tree(torch.tensor([4] + tokens), start + depths, attend)
    tree_cache.keep(start, torch.tensor([start] + [start + 1 + node for node in path]))
    fresh_logits = fresh.forward([4] + [tokens[node] for node in path])
    assert torch.allclose(tree_logits[[0] + [1 + node for node in path]], fresh_logits, atol=1e-4)
    for kept, recomputed in zip(tree_cache.cache.layers, fresh.cache.layers):
        assert torch.allclose(kept.keys, recomputed.keys, atol=1e-5) and torch.allclose(kept.values, recomputed.values, atol=1e-5)


@pytest.mark.parametrize("settings, message", [
    ({"top_k": 0}, "top-k"), ({"depth": 0}, "depth"), ({"top_k": 2, "depth": 3, "nodes": 11}, "nodes"),
    ({"top_k": 4, "depth": 4, "nodes": 3}, "nodes"),
])
def test_out_of_range_tree_settings_are_refused(settings, message):
    with pytest.raises(UserInputError, match=message):
        TreeConfig(**settings)


def test_out_of_range_dynamic_threshold_is_refused():
    with pytest.raises(UserInputError, match="dynamic threshold"):
        DecodeConfig(dynamic_threshold=1.5)
