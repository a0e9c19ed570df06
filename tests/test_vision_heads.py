"""ViSpec's and FLASH's draft heads and their ablations: the vision adaptor keeps positions, drafting from a
compressed cache matches one pass over the sequence, FLASH drafts k tokens a pass, and all stay lossless."""

import math

import pytest
import torch

from msd_demo.engine import DecodeConfig, SamplingConfig, speculative, target_only
from msd_demo.engine.drafters import FlashDrafter, HeadDrafter, head_drafter, load_head, save_head
from msd_demo.measure.metrics import collect
from tests.test_engine import IMAGE, QUESTION, VIDEO
from tests.tiny_models import random_head

# name -> the HeadConfig switches of the shipped head of that name
KINDS = {
    "vispec": dict(visual_queries=4, global_feature=True),
    "vispec-no-adaptor": dict(),
    "flash": dict(visual_queries=6, tokens_per_pass=2),
    "flash-no-compression": dict(tokens_per_pass=2),
    "flash-one-token": dict(visual_queries=6),
    "flash-three-tokens": dict(visual_queries=3, tokens_per_pass=3),
}


def drafter_for(lineup, name: str, seed: int = 11):
    return head_drafter(name, random_head(lineup.target.model, seed=seed, **KINDS[name]), lineup.target)


def test_the_adaptor_keeps_the_text_positions_and_puts_the_queries_where_the_image_was():
    head = random_head_of_width(32, visual_queries=3)
    # text 0-2, a frame at 3-8, text 9, a frame at 10-15, text 16-19
    visual = torch.zeros(20, dtype=torch.bool)
    visual[3:9] = visual[10:16] = True
    inputs, embeds = torch.randn(20, 32), torch.randn(20, 32)
    with torch.no_grad():
        compressed, positions = head.compress(inputs, embeds, visual)
    assert positions.tolist() == [0, 1, 2, 3, 9, 10, 15, 16, 17, 18, 19]  # 3 queries spread over the visual positions
    assert compressed.shape == (11, 32)
    text = ~visual[positions]
    torch.testing.assert_close(compressed[text], inputs[~visual])  # text inputs untouched
    uncompressed, every = random_head_of_width(32).compress(inputs, embeds, visual)
    assert every.tolist() == list(range(20)) and torch.equal(uncompressed, inputs)


def random_head_of_width(d: int, **switches):
    from msd_demo.engine.drafters import DraftHead, HeadConfig

    torch.manual_seed(0)
    return DraftHead(HeadConfig(hidden_size=d, num_heads=4, intermediate_size=2 * d, **switches)).eval()


@pytest.mark.sweep
@pytest.mark.parametrize("name", list(KINDS))
@pytest.mark.parametrize("media", [IMAGE, VIDEO], ids=["image", "video"])
def test_greedy_speculative_equals_target_only(llava_lineup, name, media):
    for gamma in (1, 3, 6):
        config = DecodeConfig(max_new_tokens=40, gamma=gamma)
        reference = collect(target_only(llava_lineup.target, QUESTION, media, config))
        run = collect(speculative(llava_lineup.target, QUESTION, media, drafter_for(llava_lineup, name), config))
        assert run.token_ids == reference.token_ids, (name, gamma)


@pytest.mark.parametrize("name", ["vispec", "flash", "flash-three-tokens"])
def test_drafting_from_the_compressed_cache_equals_one_pass_over_the_sequence(llava_lineup, name):
    """After crops and catch-ups (the cache shorter than the sequence), each draft's first q is what the head
    gives reading the whole sequence at once, with the target's features."""
    drafter, checked = drafter_for(llava_lineup, name), []
    begin, propose = drafter.begin, drafter.propose

    def recording_begin(request):
        drafter.request, drafter.known = request, request.target_features.hidden  # every target feature so far
        begin(request)

    def checking_propose(generated, gamma, target_hidden=None):
        if target_hidden is not None:
            drafter.known = torch.cat([drafter.known, target_hidden])
        draft = propose(generated, gamma, target_hidden)
        if draft.q is not None:  # the last step may have room for no draft at all
            checked.append(torch.allclose(draft.q[0], _first_q_in_one_pass(drafter, generated), atol=1e-4))
        return draft

    drafter.begin, drafter.propose = recording_begin, checking_propose
    collect(speculative(llava_lineup.target, QUESTION, VIDEO, drafter, DecodeConfig(max_new_tokens=30, gamma=4)))
    assert len(checked) > 3 and all(checked)


def _first_q_in_one_pass(drafter: HeadDrafter, generated: list[int]) -> torch.Tensor:
    from msd_demo.engine.sampling import probabilities

    head, request = drafter.head, drafter.request
    ids = torch.tensor(drafter.prompt_ids + generated)
    prompt_length = len(drafter.prompt_ids)
    visual = torch.cat([request.target_prompt.visual_mask, torch.zeros(len(generated), dtype=torch.bool)])
    embeds = torch.cat([request.target_features.embeds, torch.zeros(len(generated), drafter.known.shape[1])])
    previous = torch.cat([torch.zeros_like(drafter.known[:1]), drafter.known])  # h_{i-1} for every position
    image = head.image_feature(embeds[:prompt_length], visual[:prompt_length])
    with torch.no_grad():
        inputs, positions = head.compress(head.inputs(drafter.embed(ids), previous, embeds, visual, image), embeds, visual)
        g = head(inputs[None], positions)[0, -1]
    return probabilities(drafter.lm_head(g), drafter.sampling)


@pytest.mark.sweep
@pytest.mark.parametrize("gamma", [1, 2, 3, 5, 6])
def test_flash_drafts_gamma_tokens_in_ceil_gamma_over_k_passes(llava_lineup, gamma):
    for name, per_pass in (("flash", 2), ("flash-three-tokens", 3), ("flash-one-token", 1)):
        drafter = drafter_for(llava_lineup, name)
        assert isinstance(drafter, FlashDrafter) == (per_pass > 1)
        run = collect(speculative(llava_lineup.target, QUESTION, IMAGE, drafter, DecodeConfig(max_new_tokens=30, gamma=gamma)))
        full = [step for step in run.steps if len(step.drafted) == gamma]
        assert full and all(step.draft_passes == math.ceil(gamma / per_pass) for step in full), name


@pytest.mark.parametrize("name", ["vispec", "flash"])
def test_sampling_is_reproducible_and_accepts_with_min_one_p_over_q(llava_lineup, name):
    config = DecodeConfig(max_new_tokens=25, gamma=4, sampling=SamplingConfig(temperature=0.8, top_p=0.9, seed=5))
    first = collect(speculative(llava_lineup.target, QUESTION, VIDEO, drafter_for(llava_lineup, name), config))
    second = collect(speculative(llava_lineup.target, QUESTION, VIDEO, drafter_for(llava_lineup, name), config))
    assert first.token_ids == second.token_ids and len(first.token_ids) == 25
    for token in (token for step in first.steps for token in step.drafted):
        assert 0.0 < token.q <= 1.0 and token.accept_probability == pytest.approx(min(1.0, token.p / token.q), rel=1e-4)


def test_a_saved_vision_head_loads_back_with_its_switches(llava_lineup, tmp_path):
    head = random_head(llava_lineup.target.model, **KINDS["flash"])
    save_head(head, tmp_path / "flash")
    loaded = load_head(tmp_path / "flash", torch.device("cpu"), torch.float32)  # strict: every weight present
    assert loaded.config == head.config and loaded.config.tokens_per_pass == 2 and loaded.adaptor is not None
    assert isinstance(head_drafter("flash", loaded, llava_lineup.target), FlashDrafter)
