"""The seeds' released heads (MSD, ViSpec) offline: stand-in checkpoints in the authors' exact layouts, laid out as
the hub repos are and loaded through the presets' loader; greedy decoding identical to target-only (chains and the
papers' trees); the head's outputs against a reference forward written from the authors' code; strict loading."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from msd_demo.engine import DecodeConfig, speculative, target_only
from msd_demo.engine.model_cache import CachedModel
from msd_demo.engine.tree import TreeConfig
from msd_demo.errors import UserInputError
from msd_demo.inputs.media import Media
from msd_demo.loading.released_heads import build_head, read_weights
from msd_demo.measure.metrics import collect
from msd_demo.presets.catalog import PRESETS
from msd_demo.presets.lineup import Lineup
from tests import hub_models
from tests.released_stand_ins import checkpoint, with_released_heads
from tests.tiny_models import sample_images

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Describe the picture in detail."
IMAGE = Media(tuple(sample_images()[:1]), "image", "image.png")
VIDEO = Media(tuple(sample_images()), "video", "video.mp4")
HEADS = {(preset.name, drafter): head_format for preset in PRESETS.values() if preset.name in ("llava-1.5", "qwen2-vl", "qwen2.5-vl")
         for drafter, head_format in preset.released_heads.items()}


@pytest.fixture(scope="module")
def lineups(tmp_path_factory, tokenizer, llava_dir):
    folder = tmp_path_factory.mktemp("released-heads")
    targets = [hub_models.llava_15(llava_dir), hub_models.qwen2vl(folder / "qwen2vl", tokenizer),
               hub_models.qwen25vl(folder / "qwen25vl", tokenizer)]
    return {preset.name: Lineup(with_released_heads(preset, folder / "hub", tokenizer)) for preset in targets}


@pytest.mark.sweep
@pytest.mark.parametrize("preset, drafter", sorted(HEADS))
@pytest.mark.parametrize("media", [IMAGE, VIDEO], ids=["image", "video"])
def test_greedy_with_a_released_head_equals_target_only(lineups, preset, drafter, media):
    lineup = lineups[preset]
    paper_tree = TreeConfig(*PRESETS[preset].tree_defaults[drafter])
    for tree in (None, paper_tree):
        config = DecodeConfig(max_new_tokens=20, gamma=3, tree=tree)
        reference = collect(target_only(lineup.target, QUESTION, media, config))
        run = collect(speculative(lineup.target, QUESTION, media, lineup.drafter(drafter), config))
        assert run.token_ids == reference.token_ids, (preset, drafter, tree)
        assert run.drafted > 0


def test_the_llava_msd_head_drafts_only_the_ids_it_knows(lineups, tokenizer):
    lineup = lineups["llava-1.5"]
    assert lineup.head("msd").config.vocab_rows == len(tokenizer) < lineup.target.vocab_size
    run = collect(speculative(lineup.target, QUESTION, IMAGE, lineup.drafter("msd"),
                              DecodeConfig(max_new_tokens=12, tree=TreeConfig(*PRESETS["llava-1.5"].tree_defaults["msd"]))))
    drafted = [token.token_id for step in run.steps for token in step.drafted]
    assert drafted and max(drafted) < len(tokenizer)


@pytest.mark.parametrize("preset, drafter", sorted(HEADS))
def test_the_head_computes_what_the_authors_code_computes(lineups, preset, drafter):
    lineup = lineups[preset]
    target, head = lineup.target, lineup.head(drafter)
    prompt = target.prompt(QUESTION, VIDEO)
    _, features = CachedModel(target.model).prefill_with_features(prompt.model_inputs)
    ids, mask = prompt.input_ids[0], prompt.visual_mask
    inputs, positions, _ = head.prompt_inputs(head.embed(ids), features.hidden, features.embeds, mask)
    ours = head(inputs[None], positions)[0, -1]
    folder = Path(lineup.preset.draft_models[drafter])
    weights = {key: value.float() for key, value in read_weights(folder).items()}
    saved = json.loads((folder / "config.json").read_text())
    theirs = reference_last_output(weights, saved, HEADS[preset, drafter], ids, features.hidden, features.embeds, mask)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)


def reference_last_output(w, saved, head_format, ids, hidden, embeds, mask) -> torch.Tensor:
    """The authors' numbering: row t reads token t + 1 and h_t, at rotary position t (prompt rows only)."""
    d, heads = saved["hidden_size"], saved["num_attention_heads"]
    rows, positions, image = [], [], torch.zeros(d)
    t = 0
    while t < len(ids) - 1:
        if mask[t + 1] and head_format != "vispec":  # MSD: the visual embedding stands in for fc's output
            rows.append(embeds[t + 1])
            positions.append(t)
            t += 1
        elif mask[t + 1]:  # ViSpec: the whole image run -> the adaptor's N - 1 first queries at its last positions
            end = t
            while end + 1 < len(ids) and mask[end + 1]:
                end += 1
            adapted = vispec_adaptor(w, embeds[t + 1: end + 1], heads)
            rows += list(adapted[:-1])
            positions += list(range(end - len(adapted) + 2, end + 1))
            image, t = adapted[-1], end
        else:
            h = hidden[t]
            if head_format == "vispec":
                h = w["img_fc.weight"] @ torch.cat([h, image]) + w["img_fc.bias"]
            rows.append(w["fc.weight"] @ torch.cat([w["embed_tokens.weight"][ids[t + 1]], h]) + w["fc.bias"])
            positions.append(t)
            t += 1
    return decoder_layer(w, saved, torch.stack(rows), torch.tensor(positions))[-1]


def vispec_adaptor(w, visual, heads):
    queries = w["imadpt.q"]  # [N, H, hd]
    k = (visual @ w["imadpt.k_proj.weight"].T + w["imadpt.k_proj.bias"]).view(len(visual), heads, -1)
    v = (visual @ w["imadpt.v_proj.weight"].T + w["imadpt.v_proj.bias"]).view(len(visual), heads, -1)
    scores = torch.einsum("nhd,vhd->hnv", queries, k) / queries.shape[-1] ** 0.5
    out = torch.einsum("hnv,vhd->nhd", scores.softmax(-1), v).reshape(len(queries), -1)
    return out @ w["imadpt.o_proj.weight"].T


def decoder_layer(w, saved, x, positions):
    heads, kv_heads = saved["num_attention_heads"], saved["num_key_value_heads"]
    eps, theta = saved["rms_norm_eps"], saved.get("rope_theta", 10000.0)

    def rms(values, weight):
        return weight * values / (values.pow(2).mean(-1, keepdim=True) + eps).sqrt()

    def project(name, values):
        out = values @ w[f"layers.0.self_attn.{name}_proj.weight"].T
        return out + w.get(f"layers.0.self_attn.{name}_proj.bias", torch.zeros(out.shape[-1]))

    a = rms(x, w["layers.0.input_layernorm.weight"]) if "layers.0.input_layernorm.weight" in w else x
    q, k, v = (project(n, a).view(len(x), -1, x.shape[1] // heads) for n in "qkv")
    q, k = rope(q, positions, theta), rope(k, positions, theta)
    k, v = k.repeat_interleave(heads // kv_heads, dim=1), v.repeat_interleave(heads // kv_heads, dim=1)
    scores = torch.einsum("shd,thd->hst", q, k) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(torch.ones(len(x), len(x), dtype=torch.bool).triu(1), float("-inf"))
    attended = torch.einsum("hst,thd->shd", scores.softmax(-1), v).reshape(len(x), -1)
    x = x + attended @ w["layers.0.self_attn.o_proj.weight"].T
    m = rms(x, w["layers.0.post_attention_layernorm.weight"])
    gate, up = m @ w["layers.0.mlp.gate_proj.weight"].T, m @ w["layers.0.mlp.up_proj.weight"].T
    return x + (torch.nn.functional.silu(gate) * up) @ w["layers.0.mlp.down_proj.weight"].T


def rope(x, positions, theta):
    """Rotate-half RoPE as complex rotations of (x_i, x_{i + half}) pairs: [S, H, hd]."""
    half = x.shape[-1] // 2
    frequencies = theta ** (-torch.arange(half, dtype=torch.float32) * 2 / x.shape[-1])
    rotation = torch.polar(torch.ones(len(positions), half), positions[:, None].float() * frequencies)[:, None]
    turned = torch.complex(x[..., :half], x[..., half:]) * rotation
    return torch.cat([turned.real, turned.imag], dim=-1)


@pytest.fixture
def msd_checkpoint(lineups, tokenizer):
    return checkpoint("msd-llava", lineups["llava-1.5"].target, len(tokenizer))


@pytest.mark.parametrize("change, message", [
    ("drop fc.bias", "lacks the key fc.bias"),
    ("drop layers.0.mlp.up_proj.weight", "lacks the key layers.0.mlp.up_proj.weight"),
    ("add layers.0.input_layernorm.weight", "unexpected key layers.0.input_layernorm.weight"),
    ("add imadpt.q", "unexpected key imadpt.q"),
    ("shape fc.weight", "fc.weight has shape"),
])
def test_a_checkpoint_that_does_not_fit_its_format_is_refused_by_name(msd_checkpoint, change, message):
    config, state = msd_checkpoint
    action, key = change.split()
    if action == "drop":
        del state[key]
    elif action == "add":
        state[key] = torch.ones(3)
    else:
        state[key] = state[key][:, 1:]
    with pytest.raises(UserInputError, match=message):
        build_head("msd-llava", config, state, "lucylyn/MSD-LLaVA1.5-7B")


class Hook:
    """Stands for code a pickle could run on loading."""


def test_a_pickle_that_holds_code_is_refused_unread(tmp_path):
    torch.save({"fc.weight": torch.ones(2), "hook": Hook()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(UserInputError, match="holds more than tensors; it was refused unread"):
        read_weights(tmp_path)


def test_a_head_not_cached_offline_names_its_repo(lineups, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    preset = dataclasses.replace(lineups["llava-1.5"].preset, draft_models={"msd": "lucylyn/MSD-LLaVA1.5-7B"})
    lineup = Lineup(preset)
    with pytest.raises(UserInputError, match=r"could not download lucylyn/MSD-LLaVA1\.5-7B: the hub is unreachable"):
        lineup.drafter("msd")


@pytest.mark.slow
def test_presets_json_lists_the_released_heads_with_their_hub_ids():
    result = subprocess.run([sys.executable, "-m", "msd_demo", "presets", "--json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    listed = json.loads(result.stdout)
    assert listed["llava-1.5"]["target"] == "llava-hf/llava-1.5-7b-hf"
    assert listed["llava-1.5"]["drafters"]["msd"] == "lucylyn/MSD-LLaVA1.5-7B"
    assert listed["llava-1.5"]["drafters"]["vispec"] == "JLKang/ViSpec-llava-1.5-7b-hf"
    assert listed["qwen2.5-vl"]["drafters"]["vispec"] == "JLKang/ViSpec-Qwen2.5-VL-7B-Instruct"
    assert listed["qwen2-vl"] == {"target": "Qwen/Qwen2-VL-7B-Instruct", "drafters": {
        "model": "Qwen/Qwen2-VL-2B-Instruct", "prompt-lookup": None, "msd": "lucylyn/MSD-Qwen2VL-7B-Instruct"}}
    assert listed["llava-1.5-13b"]["drafters"]["msd"] == "lucylyn/MSD-LLaVA1.5-13B"
    assert listed["llava-1.6"]["drafters"]["vispec"] == "JLKang/ViSpec-llava-v1.6-vicuna-7b-hf"


def test_a_tree_asked_for_without_its_shape_is_the_papers():
    from msd_demo.cli.arguments import build_parser, decode_config

    def tree(*extra):
        args = build_parser().parse_args(["run", "--image", "x.png", "--prompt", "q", "--tree", *extra])
        return decode_config(args, PRESETS["llava-1.5"].tree_defaults["msd"]).tree

    assert tree() == TreeConfig(top_k=10, depth=6, nodes=59)
    assert tree("--tree-depth", "3") == TreeConfig(top_k=TreeConfig.top_k, depth=3, nodes=TreeConfig.nodes)
    assert PRESETS["qwen2.5-vl"].tree_defaults["vispec"] == (8, 4, 29)
