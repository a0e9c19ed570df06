"""The training pipeline end to end in quick mode: what it writes loads with the Auto classes and runs."""

import dataclasses
import json
import random
import re
import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

from msd_demo.engine.drafters import load_head
from msd_demo.inputs.media import Media
from msd_demo.inputs.prompt import build_prompt
from msd_demo.inputs.square import pads_to_square
from msd_demo.inputs.thirds import reads_thirds
from msd_demo.presets.catalog import MODELS_DIR
from msd_demo.training import heads, robustness
from msd_demo.training.__main__ import main
from msd_demo.training.data import (
    IGNORE,
    KIND_COUNT_READING_SHARE,
    READING_EVERY,
    VIDEO_DESCRIPTION_READING_SHARE,
    list_end,
    make_sample,
    reading_sample,
    tune_batches,
)
from msd_demo.training.plan import IMAGE_SIZE, PAD_TO_SQUARE, PATCH
from msd_demo.training.scoring import is_right
from msd_demo.training.stages import _in_place_seed, load_tokenizer
from msd_demo.world import sample_example
from msd_demo.world.grounded import CHECK

pytestmark = pytest.mark.slow  # trains or serves for real: run by the full suite, not by -m 'not slow'


def draft_vlm_reads_the_target_tower(out) -> bool:
    """Whether the draft VLM in `out` holds the very vision tower the target there holds."""
    target, draft = (AutoModelForImageTextToText.from_pretrained(out / name).model.vision_tower.state_dict()
                     for name in ("target", "draft-vlm"))
    return all(torch.equal(target[key], draft[key]) for key in target)


def test_quick_build_loads_with_auto_classes_and_runs(tmp_path):
    main(["--quick", "--out", str(tmp_path)])
    example = sample_example(random.Random(0), "heldout", "describe")
    media = Media(frames=tuple(example.media), kind="image", name="test")
    for name in ("target", "draft-vlm"):
        processor = AutoProcessor.from_pretrained(tmp_path / name)
        model = AutoModelForImageTextToText.from_pretrained(tmp_path / name)
        assert model.dtype == torch.float16  # shipped as fp16 safetensors
        prompt = build_prompt(processor, example.question, media, torch.device("cpu"), model.config.image_token_id)
        assert pads_to_square(processor) == PAD_TO_SQUARE  # the runtime treats pictures as the build trained on them
        assert prompt.visual_mask.sum() == (IMAGE_SIZE // PATCH) ** 2  # one frame resized to the plan's square, in patches
        logits = model.float()(**prompt.model_inputs).logits
        assert logits.shape[:2] == prompt.input_ids.shape and torch.isfinite(logits).all()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "draft-text")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "draft-text").float()
    assert torch.isfinite(model(**build_prompt(tokenizer, example.question, None, torch.device("cpu")).model_inputs).logits).all()
    card = (tmp_path / "README.md").read_text()
    assert "python -m msd_demo.training --quick" in card and "| count |" in card and "| motion |" in card
    assert "python -m msd_demo.training.robustness --model models/target --examples 1 --off-topic 2" in card
    assert "heldout renderer 3:1" in card and "Off-topic requests answered with the fixed answer" in card
    measured = json.loads((tmp_path / ".checkpoints" / "eval" / "robustness.json").read_text())
    assert set(measured["refused_questions"]) == set(measured["refused"])  # which wordings were refused, per kind
    assert "shape_confusions" in measured and set(measured["seeing_errors"]) <= set(measured["refused"])
    assert all(0 <= shares["right_given_true_list"] <= 1 for shares in measured["reading"].values())  # reading alone
    checked = {kind: shares for kind, shares in measured["reading"].items() if kind not in ("count", "describe_video")}
    assert "describe_video" in measured["reading"] and checked  # its lists are read too, though nothing beside them is checked
    assert all(0 <= shares["checks_right"] <= 1 for shares in checked.values())
    assert len(measured["off_topic_missed"]) == round((1 - measured["off_topic"]) * measured["off_topic_requests"])
    assert set(measured["empty"]) == {"describe", "count", "colour", "where", "exists"}  # questions about an empty picture
    # The eval in two parts run apart (as two cores can), merged: the very figures of the whole run.
    parts = [robustness.measure(tmp_path / "target", 1, 2, max_new_tokens=8, kinds=kinds)
             for kinds in (("describe", "count", "colour", "where"), ("exists", "describe_video", "motion", "off_topic"))]
    assert parts[0]["off_topic"] is None and set(parts[1]["cells"]) == {"exists", "describe_video", "motion"}
    merged = robustness.merge(parts)
    assert set(measured["lists_right"]) == {"motion", "describe_video"}  # each of their two lists, apart
    for key in ("cells", "off_topic", "empty", "reading", "refused", "seeing_errors", "shape_confusions", "copy_probe", "lists_right"):
        assert merged[key] == measured[key], key
    for name, per_pass in (("vispec", 1), ("vispec-no-adaptor", 1), ("flash", 2), ("flash-no-compression", 2), ("flash-one-token", 1)):
        head = load_head(tmp_path / name, torch.device("cpu"), torch.float32)  # the vision_heads stage ran (quick)
        assert head.config.tokens_per_pass == per_pass and f"`{name}`" in card
    assert draft_vlm_reads_the_target_tower(tmp_path)


def test_what_is_built_from_the_target_is_rebuilt_for_a_new_target_not_skipped(tmp_path, monkeypatch):
    """A finished head (and its cached features) and the draft VLM (its copy of the tower) belong to the target
    they were built from; a head also belongs to its recipe."""
    def records() -> dict:
        return {name: json.loads((tmp_path / ".checkpoints" / name / "done.json").read_text()) for name in ("msd", "draft-vlm")}

    main(["--quick", "--out", str(tmp_path), "--stages", "tokenizer,target,draft-vlm,heads", "--heads", "msd"])
    first = records()
    main(["--quick", "--out", str(tmp_path), "--stages", "draft-vlm,heads", "--heads", "msd"])  # same target: skipped
    assert records() == first
    changed = [dataclasses.replace(r, visual_feature=False) if r.name == "msd" else r for r in heads.RECIPES]
    monkeypatch.setattr(heads, "RECIPES", tuple(changed))
    main(["--quick", "--out", str(tmp_path), "--stages", "heads", "--heads", "msd"])  # same target, another recipe
    assert records()["msd"]["recipe"]["visual_feature"] is False and first["msd"]["recipe"]["visual_feature"] is True
    first = records()
    target = AutoModelForImageTextToText.from_pretrained(tmp_path / "target")
    with torch.no_grad():  # the heads read the LM head; the draft VLM copies the tower
        target.lm_head.weight.mul_(0.5)
        target.model.vision_tower.post_layernorm.weight.mul_(0.5)
    target.save_pretrained(tmp_path / "target")
    main(["--quick", "--out", str(tmp_path), "--stages", "draft-vlm,heads", "--heads", "msd"])
    assert all(records()[name]["target"] != first[name]["target"] for name in first)


def test_training_sample_is_the_inference_prompt_then_the_answer(tmp_path):
    main(["--quick", "--out", str(tmp_path), "--stages", "tokenizer"])
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / ".checkpoints" / "tokenizer")
    sample = make_sample(tokenizer, "How many shapes are there?", "There is one shape: a small red circle at the center.", None)
    prompt = build_prompt(tokenizer, "How many shapes are there?", None, torch.device("cpu"))
    length = prompt.length
    assert torch.equal(sample.input_ids[:length], prompt.input_ids[0])
    assert (sample.labels[:length] == IGNORE).all()
    answer = tokenizer.decode(sample.labels[length:])
    assert answer == "There is one shape: a small red circle at the center.</s>"


def test_a_build_in_a_copy_of_models_reads_the_targets_tokenizer_and_a_folder_without_one_says_what_to_do(tmp_path):
    """Later sessions tune a copy of models/ that has no .checkpoints: stages that need the tokenizer (draft-vlm,
    draft-text) read the target's, which is the build's; where neither is there, the message names the fix."""
    (tmp_path / "target").mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(MODELS_DIR / "target" / name, tmp_path / "target" / name)
    shipped = AutoTokenizer.from_pretrained(str(MODELS_DIR / "target"))
    assert load_tokenizer(tmp_path).get_vocab() == shipped.get_vocab()
    with pytest.raises(FileNotFoundError, match="--stages tokenizer"):
        load_tokenizer(tmp_path / "empty")


def test_held_out_scores_check_what_each_question_asks():
    """The world's own answer is right; one that changes what was asked is wrong; one that only words the rest
    differently (the size in a yes) still counts for the yes/no question."""
    rng = random.Random(3)
    wrong = {
        "count": lambda a: a.replace("There are no", "There is one", 1) if "There are no" in a else "There are no shapes.",
        "motion": lambda a: a.replace(" moves ", " moves nowhere ", 1),
        "where": lambda a: a.replace(" at the ", " at the far ", 1),
        "colour": lambda a: a.rsplit(" ", 1)[0] + " invisible.",
        "exists": lambda a: ("No" + a[3:]) if a.startswith("Yes") else ("Yes" + a[2:]),
    }
    for kind in wrong:
        tasks = [sample_example(rng, "heldout", kind) for _ in range(4)]
        assert all(is_right(kind, t.answer, t.answer) for t in tasks)
        assert not any(is_right(kind, t.answer, wrong[kind](t.answer)) for t in tasks)
    yes = next(t for t in (sample_example(rng, "heldout", "exists") for _ in range(50)) if t.answer.startswith("Yes"))
    assert is_right("exists", yes.answer, "Yes, there is something else.")


def test_a_target_tune_changes_the_target_once_and_heads_follow_it_from_their_earlier_weights(tmp_path, capsys):
    main(["--quick", "--out", str(tmp_path), "--stages", "tokenizer,target,draft-vlm,heads", "--heads", "msd"])
    before = json.loads((tmp_path / ".checkpoints" / "msd" / "done.json").read_text())["target"]
    tune = ["--quick", "--out", str(tmp_path), "--stages", "target-tune", "--threads", "1"]
    main(tune)
    record = json.loads((tmp_path / ".checkpoints" / "target-tune" / "done.json").read_text())
    assert record["from"] == before != record["result"]  # it trained on the first target's weights
    assert record["picture_thirds"] and reads_thirds(AutoProcessor.from_pretrained(tmp_path / "target"))  # and taught thirds
    capsys.readouterr()
    main(tune)  # the folder already holds the tuned target: not tuned twice
    assert "already the tuned target" in capsys.readouterr().out
    main(["--quick", "--out", str(tmp_path), "--stages", "draft-vlm"])  # the tune trained the tower it copies
    assert "draft-vlm: already built" not in capsys.readouterr().out
    assert draft_vlm_reads_the_target_tower(tmp_path)  # rebuilt on the tuned tower
    shutil.copytree(tmp_path / "draft-vlm", tmp_path / "earlier" / "draft-vlm")
    (tmp_path / ".checkpoints" / "draft-vlm" / "done.json").unlink()
    main(["--quick", "--out", str(tmp_path), "--stages", "draft-vlm", "--warm-start", str(tmp_path / "earlier")])
    assert "draft-vlm: starts from" in capsys.readouterr().out and draft_vlm_reads_the_target_tower(tmp_path)
    earlier, now = (AutoModelForImageTextToText.from_pretrained(tmp_path / folder).model.language_model.state_dict()
                    for folder in ("earlier/draft-vlm", "draft-vlm"))
    assert all((now[key] - earlier[key]).abs().max() < 0.01 for key in now)  # two small steps on, not a fresh model
    main(["--quick", "--out", str(tmp_path), "--stages", "heads", "--heads", "msd", "--warm-start", str(tmp_path)])
    assert "msd: starts from" in capsys.readouterr().out
    assert json.loads((tmp_path / ".checkpoints" / "msd" / "done.json").read_text())["target"] == record["result"]
    shutil.copytree(tmp_path / "msd", tmp_path / "x" / "flash")
    with pytest.raises(ValueError, match="not of this recipe"):  # a head of another recipe is no start
        main(["--quick", "--out", str(tmp_path), "--stages", "vision_heads", "--heads", "flash", "--warm-start", str(tmp_path / "x")])


def test_an_in_place_stage_run_again_on_its_own_result_draws_new_batches():
    # a second sharpening or tune continues on new data
    first, second = "0123456789abcdef", "fedcba9876543210"  # fingerprints of the weights a stage starts from
    assert _in_place_seed("target-tune", first) == _in_place_seed("target-tune", first)  # reproducible
    assert _in_place_seed("target-tune", first) != _in_place_seed("target-tune", second)
    assert _in_place_seed("tower-sharpen", first) != _in_place_seed("target-tune", first)


def test_a_reading_sample_gives_the_true_list_and_trains_only_its_checks_and_the_conclusion():
    processor = AutoProcessor.from_pretrained(str(MODELS_DIR / "target"))
    tokenizer, rng = processor.tokenizer, random.Random(20)
    descriptions = 0
    for _ in range(40):
        sample = reading_sample(rng, tokenizer)
        text = tokenizer.decode(sample.input_ids)
        trained = tokenizer.decode(sample.input_ids[sample.labels != IGNORE])
        assert sample.pixel_values is None and trained.endswith(tokenizer.eos_token)
        answer = text[text.rindex("<|assistant|>") + len("<|assistant|>"):]
        assert "I see" in answer and "I see" not in trained
        if "Halfway, I see" in answer:  # a video description: its lists are given, its events trained
            descriptions += 1
            events = re.findall(r" ?Then [^.]*\.", answer)
            assert events and trained == re.sub(r" (small|medium|large)", "", "".join(events)) + tokenizer.eos_token, (trained, answer)
            continue
        listed, conclusion = answer[:list_end(answer)], answer[list_end(answer):]
        # what the picture would tell (the shapes and places) is given; the checks beside them are trained
        assert trained == "".join(CHECK.findall(listed)) + conclusion, (trained, answer)
    assert descriptions >= 40 * VIDEO_DESCRIPTION_READING_SHARE / 2
    # Counting a kind that is there, often: the check beside each listed shape must compare kinds, and says " yes"
    answers = [tokenizer.decode(reading_sample(rng, tokenizer).input_ids) for _ in range(100)]
    kind_yes = [a for a in answers if re.search(r"\(is it an? (circle|square|triangle|star)\? yes", a)]
    assert len(kind_yes) >= 100 * KIND_COUNT_READING_SHARE / 2, len(kind_yes)
    batches = tune_batches(random.Random(1), processor, 2)
    text_only = [next(batches)[0].pixel_values is None for _ in range(2 * READING_EVERY)]
    assert text_only == [(i + 1) % READING_EVERY == 0 for i in range(2 * READING_EVERY)]
