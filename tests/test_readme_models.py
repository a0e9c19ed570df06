"""The README's list of shipped models states their sizes and picture handling; they must be the shipped files'.

A rebuild (issue 21) changes every figure here; this test names the one that went stale."""

import json
import re
from pathlib import Path

import pytest
from transformers import AutoProcessor

from msd_demo.inputs.square import pads_to_square
from msd_demo.presets.catalog import folder_parameters
from msd_demo.training.heads import RECIPES
from msd_demo.training.vision_heads import VISION_RECIPES

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SHIPPED = ROOT / "README.md"
HEAD_GROUPS = {"msd": [r.name for r in RECIPES], "vispec and flash": [r.name for r in VISION_RECIPES]}


def stated(pattern: str) -> re.Match:
    match = re.search(pattern, " ".join(SHIPPED.read_text().split()))  # line breaks read as spaces
    assert match, f"the README no longer says /{pattern}/"
    return match


def millions(count: int) -> str:
    return f"{count / 1e6:.1f}"


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("target", r"`target`: LLaVA \(CLIP vision tower \+ Llama text, ([\d.]+) M parameters\)"),
        ("draft-vlm", r"`draft-vlm` \(`model` drafter\): a LLaVA of ([\d.]+) M parameters"),
        ("draft-text", r"`draft-text` \(`text-only` drafter\): a Llama LM of ([\d.]+) M parameters"),
    ],
    ids=["target", "draft-vlm", "draft-text"],
)
def test_each_models_parameter_count_is_the_shipped_ones(name, pattern):
    assert stated(pattern)[1] == millions(folder_parameters(MODELS / name))


@pytest.mark.parametrize(
    "group, pattern",
    [
        ("msd", r"`msd-visual-embedding-only`: draft heads of ([\d.]+) to ([\d.]+) M parameters"),
        ("vispec and flash", r"ViSpec's or FLASH's additions \(([\d.]+) to ([\d.]+) M parameters"),
    ],
    ids=["msd", "vispec-flash"],
)
def test_each_head_groups_range_is_the_shipped_heads(group, pattern):
    counts = sorted(folder_parameters(MODELS / name) for name in HEAD_GROUPS[group])
    assert stated(pattern).groups() == (millions(counts[0]), millions(counts[-1]))


def test_the_picture_handling_is_the_shipped_targets():
    vision = json.loads((MODELS / "target" / "config.json").read_text())["vision_config"]
    pads = pads_to_square(AutoProcessor.from_pretrained(str(MODELS / "target")))
    how, side, _, patch = stated(r"images are (squashed|padded) to (\d+)x(\d+) and cut into (\d+)x\d+ patches").groups()
    assert (how, int(side), int(patch)) == ("padded" if pads else "squashed", vision["image_size"], vision["patch_size"])
    per_side = vision["image_size"] // vision["patch_size"]
    assert stated(r"patches, (one|\d+) image tokens? per grid cell")[1] == ("one" if per_side == 3 else str((per_side // 3) ** 2))
