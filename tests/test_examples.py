"""The app's examples (issue 21): each one with a ground truth is answered right by the shipped target."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from msd_demo.inputs.media import load_media
from msd_demo.inputs.prompt import build_prompt
from msd_demo.presets.catalog import MODELS_DIR, get_preset
from msd_demo.training.plan import IMAGE_SIZE, TARGET_SIZE
from msd_demo.training.scoring import is_right
from msd_demo.ui.examples import ASSETS_DIR

TARGET = MODELS_DIR / "target"
MAX_NEW_TOKENS = 256  # the longest grounded answer (a video's motion) is about 110 tokens


def trained_for_issue_21(target: Path) -> bool:
    """The retrained target is built by today's plan (192-pixel pictures, 8 text layers); the one trained
    before issue 21's recipe saw 96-pixel pictures with 6 text layers."""
    config = json.loads((target / "config.json").read_text())
    return (config["vision_config"]["image_size"], config["text_config"]["num_hidden_layers"]) == (IMAGE_SIZE, TARGET_SIZE.text_layers)


def examples_with_truth() -> list[dict]:
    """Rows from the world carry their exact answer; the off-distribution drawings have none to check."""
    rows = [json.loads(line) for line in (ASSETS_DIR / "examples.jsonl").read_text().splitlines() if line.strip()]
    return [row for row in rows if "answer" in row]


def greedy_answer(processor, model, row: dict) -> str:
    """What the app's target-only run says (greedy), media loaded as the tiny preset loads it."""
    media = load_media(ASSETS_DIR / (row.get("image") or row["video"]), get_preset("tiny").video_frames)
    prompt = build_prompt(processor, row["prompt"], media, torch.device("cpu"))
    tokenizer = processor.tokenizer
    with torch.no_grad():
        output = model.generate(**prompt.model_inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(output[0, prompt.length:], skip_special_tokens=True).strip()


@pytest.fixture(scope="module")
def shipped_target():
    processor = AutoProcessor.from_pretrained(str(TARGET))
    return processor, AutoModelForImageTextToText.from_pretrained(str(TARGET), dtype=torch.float32).eval()


def test_the_examples_include_a_visitors_pictures_words_and_an_off_topic_request():
    rows = examples_with_truth()
    kinds = {row["kind"] for row in rows}
    assert {"describe", "count", "where", "exists", "colour", "describe_video", "motion", "off_topic"} <= kinds
    assert any(row.get("image", "").startswith("visitor_") for row in rows)  # drawn by the held-out renderer
    assert any(row.get("video", "").startswith("visitor_") for row in rows)


@pytest.mark.slow
@pytest.mark.skipif(not trained_for_issue_21(TARGET), reason="issue 21: models/ still holds the target trained before "
                    "the issue-21 recipe (96-pixel pictures, 6 text layers); the retrained models must answer every example right")
@pytest.mark.parametrize("row", examples_with_truth(), ids=lambda row: f"{row.get('image') or row['video']}:{row['kind']}")
def test_the_shipped_target_answers_every_example_right(row, shipped_target):
    answer = greedy_answer(*shipped_target, row)
    assert is_right(row["kind"], row["answer"], answer), f"{row['prompt']!r}: expected {row['answer']!r}, got {answer!r}"
