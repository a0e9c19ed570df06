"""The hub presets' code path, offline: their architectures (tiny random stand-ins loaded exactly as the presets
load theirs), greedy identity and sampling for each drafter, and clear messages when the hub cannot be had."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from msd_demo.engine import DecodeConfig, SamplingConfig, speculative, target_only
from msd_demo.engine.drafters import ModelDrafter
from msd_demo.errors import UserInputError
from msd_demo.inputs.media import Media
from msd_demo.loading import hub
from msd_demo.measure.metrics import collect
from msd_demo.presets.catalog import HUB_PRESETS, PRESETS
from msd_demo.presets.lineup import Lineup
from tests import hub_models
from tests.released_stand_ins import with_released_heads
from tests.tiny_models import sample_images

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Describe the picture in detail."
IMAGE = Media(tuple(sample_images()[:1]), "image", "image.png")
VIDEO = Media(tuple(sample_images()), "video", "video.mp4")
# What each real preset's models are built from (their config.json files), and the stand-ins must match.
ARCHITECTURES = {
    "llava-1.5": ("LlavaConfig", "LlamaConfig", "CLIPVisionConfig"),
    "llava-interleave": ("LlavaConfig", "Qwen2Config", "SiglipVisionConfig"),
    "qwen2.5-vl": ("Qwen2_5_VLConfig", "Qwen2_5_VLTextConfig", "Qwen2_5_VLVisionConfig"),
    "qwen2-vl": ("Qwen2VLConfig", "Qwen2VLTextConfig", "Qwen2VLVisionConfig"),
    "llava-1.5-13b": ("LlavaConfig", "LlamaConfig", "CLIPVisionConfig"),
}
# Presets without a tiny stand-in yet, and why.
NO_STAND_IN = {"llava-1.6": "LLaVA-NeXT's any-resolution tiles need a stand-in processor of their own"}
DRAFT_ARCHITECTURES = {
    ("llava-1.5", "text-only"): "LlamaConfig",
    ("llava-interleave", "model"): "LlavaConfig",
    ("qwen2.5-vl", "model"): "Qwen2_5_VLConfig",
    ("qwen2.5-vl", "text-only"): "Qwen2Config",
    ("qwen2-vl", "model"): "Qwen2VLConfig",
}
CASES = [(preset.name, drafter) for preset in HUB_PRESETS if preset.name not in NO_STAND_IN for drafter in preset.drafters]


@pytest.fixture(scope="module")
def lineups(tmp_path_factory, tokenizer, llava_dir):
    folder = tmp_path_factory.mktemp("hub-stand-ins")
    stand_ins = [hub_models.llava_15(llava_dir), hub_models.llava_interleave(folder / "interleave", tokenizer),
                 hub_models.qwen25vl(folder / "qwen", tokenizer), hub_models.qwen2vl(folder / "qwen2vl", tokenizer),
                 hub_models.llava_15(llava_dir, "llava-1.5-13b")]
    return {preset.name: Lineup(with_released_heads(preset, folder / "hub", tokenizer)) for preset in stand_ins}


def run_both(target, drafter, media, config):
    return collect(target_only(target, QUESTION, media, config)), collect(speculative(target, QUESTION, media, drafter, config))


def test_every_hub_preset_has_a_stand_in_of_its_architecture(lineups):
    assert set(lineups) | set(NO_STAND_IN) == {preset.name for preset in HUB_PRESETS}
    assert set(lineups) == set(ARCHITECTURES)
    for name, lineup in lineups.items():
        config = lineup.target.model.config
        assert (type(config).__name__, type(config.text_config).__name__, type(config.vision_config).__name__) == ARCHITECTURES[name]
        assert lineup.preset.drafters == PRESETS[name].drafters
        for drafter in set(lineup.preset.draft_models) - set(lineup.preset.released_heads):
            assert type(lineup.draft_model(drafter).model.config).__name__ == DRAFT_ARCHITECTURES[name, drafter]


def test_the_qwen_preset_caps_the_visual_tokens_of_a_large_image(lineups):
    from PIL import Image

    large = Media((Image.new("RGB", (640, 480), (200, 30, 30)),), "image", "large.png")
    prompt = lineups["qwen2.5-vl"].target.prompt(QUESTION, large)
    assert 4 <= int(prompt.visual_mask.sum()) <= 9  # 48 x 48 pixels at most: 3 x 3 merged patches


def test_vocabularies_padded_apart_as_in_the_real_pairs(lineups):
    """Qwen2.5-VL 7B has 152,064 logits, its 3B and 0.5B drafts 151,936; LLaVA-1.5 32,064, vicuna-68m 32,000."""
    for name, drafter in [("qwen2.5-vl", "model"), ("qwen2.5-vl", "text-only"), ("llava-1.5", "text-only")]:
        lineup = lineups[name]
        assert lineup.target.vocab_size > lineup.draft_model(drafter).vocab_size


@pytest.mark.sweep
@pytest.mark.parametrize("preset, drafter", CASES)
@pytest.mark.parametrize("media", [IMAGE, VIDEO], ids=["image", "video"])
def test_greedy_speculative_equals_target_only(lineups, preset, drafter, media):
    lineup = lineups[preset]
    for gamma in (1, 4):
        config = DecodeConfig(max_new_tokens=32, gamma=gamma)
        reference, run = run_both(lineup.target, lineup.drafter(drafter), media, config)
        assert run.token_ids == reference.token_ids, (preset, drafter, gamma)
        assert len(reference.token_ids) == 32


@pytest.mark.parametrize("preset", sorted(ARCHITECTURES))
def test_every_draft_accepted_is_still_identical(lineups, preset):
    """The target drafting for itself: the accept path (alpha = 1, tau = gamma + 1) on each architecture."""
    target = lineups[preset].target
    reference, run = run_both(target, ModelDrafter("model", target), VIDEO, DecodeConfig(max_new_tokens=21, gamma=4))
    assert run.token_ids == reference.token_ids
    assert run.alpha == 1.0 and run.tau == 5.0


@pytest.mark.sweep
@pytest.mark.parametrize("preset, drafter", [case for case in CASES if case[1] != "prompt-lookup"])
def test_sampling_completes_and_is_reproducible(lineups, preset, drafter):
    lineup = lineups[preset]
    config = DecodeConfig(max_new_tokens=24, gamma=3, sampling=SamplingConfig(temperature=0.9, seed=7))
    first = collect(speculative(lineup.target, QUESTION, IMAGE, lineup.drafter(drafter), config))
    second = collect(speculative(lineup.target, QUESTION, IMAGE, lineup.drafter(drafter), config))
    assert first.token_ids == second.token_ids
    assert 1 <= len(first.token_ids) <= 24 and all(token < lineup.target.vocab_size for token in first.token_ids)
    assert first.drafted > 0


def test_weights_are_estimated_from_the_config_before_loading(lineups):
    from transformers import AutoModelForImageTextToText

    model = lineups["qwen2.5-vl"].target.model
    estimate = hub.parameter_bytes(AutoModelForImageTextToText, lineups["qwen2.5-vl"].preset.target, torch.bfloat16, {})
    assert estimate == sum(parameter.numel() for parameter in model.parameters()) * 2


def test_too_little_memory_is_refused_with_what_it_needs():
    with pytest.raises(UserInputError, match=r"needs about 16\.6 GB .* only 8\.0 GB of GPU memory are free"):
        hub.check_fits("Qwen/Qwen2.5-VL-7B-Instruct", 16_600_000_000, 8_000_000_000, "GPU")
    hub.check_fits("Qwen/Qwen2.5-VL-7B-Instruct", 16_600_000_000, 40_000_000_000, "GPU")
    hub.check_fits("Qwen/Qwen2.5-VL-7B-Instruct", 16_600_000_000, None, "GPU")  # unknown (ZeroGPU): load and see


@pytest.mark.parametrize("error, message", [
    ("gated", "meta-llama/Llama-3.2-11B-Vision is a gated model: accept its licence at https://huggingface.co/meta-llama/"),
    ("missing", "meta-llama/Llama-3.2-11B-Vision was not found on the hub"),
    ("out of memory", "ran out of memory while loading meta-llama/Llama-3.2-11B-Vision"),
])
def test_hub_failures_become_one_line_that_says_what_to_do(error, message):
    """What huggingface_hub and torch raise (a 401 for a gated repo, a 404, an OOM), as one actionable line."""
    import httpx
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    source = "meta-llama/Llama-3.2-11B-Vision"
    response = httpx.Response(401 if error == "gated" else 404, request=httpx.Request("GET", f"https://huggingface.co/{source}"))
    raised = {"gated": GatedRepoError("401 Client Error: Cannot access gated repo.", response=response),
              "missing": RepositoryNotFoundError("404 Client Error: Repository Not Found.", response=response),
              "out of memory": torch.OutOfMemoryError("CUDA out of memory.")}[error]
    with pytest.raises(UserInputError) as caught, hub.hub_errors(source, unreachable_reason=None):
        if isinstance(raised, torch.OutOfMemoryError):
            raise raised
        raise OSError(f"{source} cannot be loaded.") from raised  # as transformers wraps hub errors
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_the_presets_command_lists_every_preset_with_size_and_hardware():
    import json

    result = subprocess.run([sys.executable, "-m", "msd_demo", "presets"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    listed = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert list(listed) == ["tiny", "llava-interleave", "qwen2.5-vl", "llava-1.5", "qwen2-vl", "llava-1.5-13b", "llava-1.6"]
    assert listed["qwen2.5-vl"]["draft_models"] == {"model": "Qwen/Qwen2.5-VL-3B-Instruct", "text-only": "Qwen/Qwen2.5-0.5B-Instruct",
                                                    "vispec": "JLKang/ViSpec-Qwen2.5-VL-7B-Instruct"}
    assert all(row["size"] and row["hardware"] for row in listed.values())


@pytest.mark.slow
def test_a_hub_preset_offline_is_one_clear_line():
    result = subprocess.run(
        [sys.executable, "-m", "msd_demo", "run", "--preset", "qwen2.5-vl", "--image", str(ROOT / "assets" / "shapes_1.png"),
         "--prompt", "Describe the picture."],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**_environment(), "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "could not download Qwen/Qwen2.5-VL-7B-Instruct: the hub is unreachable (HF_HUB_OFFLINE is set)" in result.stderr


def test_a_hub_preset_offline_in_the_app_is_a_message_not_a_traceback(monkeypatch):
    from msd_demo.ui import wiring

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    outputs = list(wiring.run_in_ui(str(ROOT / "assets" / "shapes_1.png"), None, QUESTION, "llava-interleave", "model", 4, 0.0, 16, 0))
    assert "could not download llava-hf/llava-interleave-qwen-7b-hf: the hub is unreachable" in outputs[-1][2]
    assert any("loading" in str(output[2]) for output in outputs[:-1])  # progress was shown first


def test_the_app_describes_each_preset_and_reuses_a_loaded_lineup(llava_dir):
    from msd_demo.presets.lineup import is_lineup_loaded, load_lineup
    from msd_demo.ui import wiring

    description = wiring.preset_description("qwen2.5-vl")
    assert "about 28 GB in bf16" in description and "40 GB or more" in description
    assert load_lineup("tiny", str(llava_dir)) is load_lineup("tiny", str(llava_dir))
    assert is_lineup_loaded("tiny", str(llava_dir)) and not is_lineup_loaded("qwen2.5-vl")


def _environment() -> dict:
    import os

    return dict(os.environ)


def test_loading_through_accelerate_device_map_decodes_the_same(lineups):
    """device_map="auto" (what several GPUs get) loads and decodes the same (here accelerate places all on the CPU)."""
    from msd_demo.loading.models import load_model

    preset = lineups["qwen2.5-vl"].preset
    dispatched = load_model(preset.target, multimodal=True, device=torch.device("cpu"), device_map="auto")
    assert dispatched.device == torch.device("cpu")
    config = DecodeConfig(max_new_tokens=16, gamma=3)
    reference = collect(target_only(lineups["qwen2.5-vl"].target, QUESTION, IMAGE, config))
    run = collect(speculative(dispatched, QUESTION, IMAGE, lineups["qwen2.5-vl"].drafter("text-only"), config))
    assert run.token_ids == reference.token_ids
