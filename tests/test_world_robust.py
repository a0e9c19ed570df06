"""The visitor's world (issue 21): their words, varied pictures that keep the truth exact, grounded answers."""

from __future__ import annotations

import dataclasses
import random
import re

import numpy as np
import pytest
from transformers import AutoProcessor

from msd_demo.inputs.media import Media, uniform_frame_indices
from msd_demo.inputs.prompt import build_prompt
from msd_demo.inputs.square import PAD_SWITCH, enable_pad_to_square, pad_to_square, pads_to_square
from msd_demo.presets.catalog import MODELS_DIR
from msd_demo.training import robustness
from msd_demo.training.data import blind_question
from msd_demo.training.scoring import each_list_right, is_right, listed_and_true, seeing_errors, seen_lists, sees_right, shape_confusions
from msd_demo.world import COLOURS, KINDS, POSITIONS, SHAPES, VideoScene
from msd_demo.world.grounded import i_see, state_after
from msd_demo.world.phrasings import (
    _EVERYDAY_FRAMES,
    _OFF_TOPIC,
    OFF_TOPIC_ANSWER,
    PICTURE_WORDS,
    QUESTION_KINDS,
    VIDEO_WORDS,
    _everyday_words,
    all_phrasings,
    everyday_request,
    off_topic_requests,
    phrasings,
)
from msd_demo.world.render import Placed
from msd_demo.world.render_heldout import draw_heldout
from msd_demo.world.render_varied import draw_varied
from msd_demo.world.robust import OFF_TOPIC, ROBUST_KINDS, TRAIN_TWO_EVENT_DESCRIPTION_SHARE, sample_robust_example, sample_varied_video
from msd_demo.world.scene import BACKGROUNDS, EXTRA_BACKGROUNDS, background_shades, resolutions
from msd_demo.world.textdata import sample_grounded_text_example
from msd_demo.world.variety import (
    ASPECT_FAMILIES,
    SIZE_BANDS,
    layout,
    sample_resolution,
    sample_style,
    sample_varied_scene,
    varied_backgrounds,
    varied_resolutions,
)

PALETTE = np.array(list(COLOURS.values()), dtype=float)
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _slot_pattern(template: str) -> re.Pattern:
    """A template as a regex over its slots' whole vocabulary, on the normalised text."""
    names = [f"{c} {k}" for c in COLOURS for k in SHAPES]
    vocabulary = {
        "picture": PICTURE_WORDS + VIDEO_WORDS, "video": VIDEO_WORDS, "kind": SHAPES, "position": POSITIONS,
        "things": ("shapes", *(f"{c} shapes" for c in COLOURS), *(f"{k}s" for k in SHAPES)),
        "name": names, "a_name": [("an " if n[0] in "aeiou" else "a ") + n for n in names],
    }
    parts = re.split(r"\{(\w+)\}", _normalised(template))
    regex = "".join(re.escape(p) if i % 2 == 0 else "(?:" + "|".join(map(re.escape, vocabulary[p])) + ")" for i, p in enumerate(parts))
    return re.compile(regex + r"$")


def _normalised(text: str) -> str:
    return " ".join(text.lower().replace("color", "colour").split()).rstrip("?.!")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_30_phrasings_split_into_disjoint_training_and_held_out_sets(kind):
    train, heldout = set(phrasings(kind, "train")), set(phrasings(kind, "heldout"))
    assert len(set(all_phrasings(kind))) >= 30 and len(heldout) >= 8 and len(train) >= 30
    assert not train & heldout
    # Disjoint wording, not only disjoint strings: no held-out template reads as a training one.
    train_patterns = [_slot_pattern(t) for t in train]
    for template in heldout:
        filled = _normalised(template.format(picture="picture", video="video", kind="circle", position="center",
                                             things="circles", name="red circle", a_name="a red circle"))
        assert not any(p.match(filled) for p in train_patterns), template


def test_training_data_never_asks_in_a_held_out_phrasing():
    patterns = {kind: ([_slot_pattern(t) for t in phrasings(kind, "train")], [_slot_pattern(t) for t in phrasings(kind, "heldout")])
                for kind in KINDS}
    rng = random.Random(4)
    for _ in range(300):
        example = sample_robust_example(rng, "train", rng.choice(KINDS), video_frames=1)
        question = _normalised(example.question)
        train, heldout = patterns[example.kind]
        assert any(p.match(question) for p in train) and not any(p.match(question) for p in heldout), example.question
    requests = {_normalised(r) for r in off_topic_requests("heldout")}
    for _ in range(300):
        question, answer = blind_question(rng)
        assert _normalised(question) not in requests
        assert not any(p.match(_normalised(question)) for kind in KINDS for p in patterns[kind][1]), question


def test_a_requests_first_words_do_not_decide_whether_it_is_about_the_world():
    # Session 20's target refused "Give a description of the picture": every training request opening with
    # "Give me" or "Write a" was off-topic. Each opening now leads to both, the thing asked about decides.
    world = [_normalised(t) for kind in ("describe", "describe_video") for t in phrasings(kind, "train")]
    outside = [_normalised(r) for r in off_topic_requests("train")]
    for opening in ("give me", "write a", "describe", "summarize", "explain", "tell me", "list some", "provide a"):
        assert any(q.startswith(opening) for q in world) and any(r.startswith(opening) for r in outside), opening


def _is_everyday(request: str) -> bool:
    frame_words = set(re.findall(r"[a-z]+", " ".join(_EVERYDAY_FRAMES).lower()))
    return set(re.findall(r"[a-z]+", request.lower())) <= set(_everyday_words()) | frame_words


def test_everyday_requests_share_no_word_with_the_worlds_questions_or_the_held_out_requests():
    templates, topics, fixed = _OFF_TOPIC["heldout"]
    asked = " ".join((*(p for kind in QUESTION_KINDS for p in all_phrasings(kind)), *templates, *topics, *fixed))
    kept = set(_everyday_words())
    assert not kept & set(re.findall(r"[a-z]+", asked.lower())) and not kept & {*COLOURS, *SHAPES}
    assert "book" not in kept and "find" not in kept  # "Recommend a book ...", "find" in world questions
    rng = random.Random(3)
    requests = [everyday_request(rng) for _ in range(200)]
    assert all(_is_everyday(r) for r in requests) and len(set(requests)) > 190


def test_off_topic_requests_get_the_one_fixed_answer_and_held_out_ones_are_new():
    train, heldout = set(off_topic_requests("train")), set(off_topic_requests("heldout"))
    assert len(heldout) >= 100 and not train & heldout
    rng = random.Random(5)
    for split in ("train", "heldout"):
        for _ in range(20):
            example = sample_robust_example(rng, split, OFF_TOPIC, video_frames=2)
            assert example.answer == OFF_TOPIC_ANSWER
            templated = _normalised(example.question) in {_normalised(r) for r in off_topic_requests(split)}
            assert templated or (split == "train" and _is_everyday(example.question)), example.question
    texts = [sample_grounded_text_example(random.Random(seed)) for seed in range(200)]
    assert any(answer == OFF_TOPIC_ANSWER for _, answer in texts)


def _shape_pixels(draw, scene, shape, style) -> np.ndarray:
    """Pixels where the shape alone, drawn clean, shows at least half its colour: [H, W] bool."""
    clean = dataclasses.replace(style, noise=0.0, jpeg_quality=None)
    alone = np.asarray(draw(scene.width, scene.height, scene.background, [Placed(shape, shape.row, shape.col)], clean), dtype=float)
    background = np.array(scene.background, dtype=float)
    return np.linalg.norm(alone - background, axis=-1) > 0.5 * np.linalg.norm(np.array(COLOURS[shape.colour]) - background)


@pytest.mark.sweep
@pytest.mark.parametrize("draw", [draw_varied, draw_heldout], ids=["training renderer", "held-out renderer"])
def test_varied_pictures_keep_each_shape_in_its_cell_and_its_colour(draw):
    names = list(COLOURS)
    for seed in range(60):
        rng = random.Random(seed)
        scene = sample_varied_scene(rng, "heldout", aspect=rng.choice((None, 3.0, 1 / 3)))
        style = sample_style(rng, scene, heldout_renderer=draw is draw_heldout)
        placed = [Placed(s, s.row, s.col) for s in scene.objects]
        image = np.asarray(draw(scene.width, scene.height, scene.background, placed, style), dtype=float)
        assert image.shape == (scene.height, scene.width, 3)
        cell_w, cell_h = scene.width / 3, scene.height / 3
        for shape in scene.objects:
            ys, xs = np.nonzero(_shape_pixels(draw, scene, shape, style))
            assert len(xs) >= 9, (seed, shape)
            assert (int(xs.mean() // cell_w), int(ys.mean() // cell_h)) == (shape.col, shape.row)
            assert shape.col * cell_w - 1 <= xs.min() and xs.max() <= (shape.col + 1) * cell_w
            assert shape.row * cell_h - 1 <= ys.min() and ys.max() <= (shape.row + 1) * cell_h
            median = np.median(image[ys, xs], axis=0)  # with noise and JPEG artefacts
            assert names[int(np.argmin(((PALETTE - median) ** 2).sum(1)))] == shape.colour, (seed, shape, style)


def test_shape_sizes_stay_in_their_named_bands():
    for seed in range(40):
        rng = random.Random(seed)
        scene = sample_varied_scene(rng, "train")
        drawn = layout(scene.width, scene.height, [Placed(s, s.row, s.col) for s in scene.objects], sample_style(rng, scene))
        for shape, item in zip(scene.objects, drawn):
            low, high = SIZE_BANDS[shape.size]
            assert low - 1e-9 <= 2 * item.half / min(scene.width, scene.height) * 3 <= high + 1e-9


def test_wide_tall_and_near_square_pictures_are_drawn_equally_often():
    rng = random.Random(4)
    drawn = [sample_resolution(rng, "train") for _ in range(3000)]
    for name, belongs in ASPECT_FAMILIES.items():
        share = sum(belongs(w / h) for w, h in drawn) / len(drawn)
        assert 0.3 < share < 0.37, (name, share)
    assert set(drawn) <= set(varied_resolutions("train"))
    assert all(w == h for w, h in (sample_resolution(rng, "train", widest=1.0) for _ in range(50)))
    # a fixed aspect ratio draws as it did before the families, so the eval's cells and the app's examples keep their pictures
    assert all(sample_resolution(random.Random(seed), "heldout", aspect=3.0) ==
               random.Random(seed).choice(varied_resolutions("heldout", 3.0)) for seed in range(20))


def test_held_out_pictures_use_shades_and_sizes_training_never_saw_and_aspects_run_4_to_1():
    train, heldout = set(varied_resolutions("train")), set(varied_resolutions("heldout"))
    assert not train & (heldout | set(resolutions("heldout"))) and not heldout & set(resolutions("train"))
    assert {(512, 128), (128, 512), (384, 128), (128, 384)} <= train
    assert varied_resolutions("heldout", 3.0) and varied_resolutions("heldout", 1 / 3)
    shades = {split: {rgb for _, rgb in varied_backgrounds(split)} for split in ("train", "heldout")}
    old_train = {rgb for _, rgb in background_shades("train")}
    assert not shades["heldout"] & (shades["train"] | old_train)
    assert {"white", "mid grey", "navy"} <= {name for name, _ in varied_backgrounds("train")}
    families = {**BACKGROUNDS, **EXTRA_BACKGROUNDS}
    for name, rgb in varied_backgrounds("train") + varied_backgrounds("heldout"):  # each shade is nearest its own family
        assert min(families, key=lambda f: sum((a - b) ** 2 for a, b in zip(families[f], rgb))) == name


def test_the_two_renderers_draw_the_same_scene_differently():
    rng = random.Random(8)
    scene = sample_varied_scene(rng, "heldout")
    style = dataclasses.replace(sample_style(rng, scene), noise=0.0, jpeg_quality=None, outline=0.0, antialias=True)
    placed = [Placed(s, s.row, s.col) for s in scene.objects]
    a, b = (np.asarray(d(scene.width, scene.height, scene.background, placed, style)) for d in (draw_varied, draw_heldout))
    assert (a != b).any(axis=-1).mean() > 0.001


def _said_count(answer: str) -> int:
    word = re.findall(r"there (?:is|are) (\w+) ", answer)[-1]
    return _NUMBERS.index(word)


def test_grounded_answers_first_say_what_is_seen_then_answer_exactly():
    rng = random.Random(9)
    for _ in range(60):
        for kind in ("count", "colour", "where", "exists"):
            example = sample_robust_example(rng, "heldout", kind, video_frames=1)
            scene, answer = example.scene, example.answer
            assert answer.startswith("I see ") and seen_lists(answer) == [i_see(scene.objects)]
            if kind == "count":
                things = re.findall(r"there (?:is|are) \w+ ([a-z ]+)\.$", answer)[0]
                counted = [s for s in scene.objects if things.rstrip("s") in ("shape", s.kind, f"{s.colour} shape")]
                assert _said_count(answer) == len(counted), answer
            if kind == "where" and "There is no" not in answer:
                shape = next(s for s in scene.objects if f"The {s.name} is at" in answer)
                assert answer.endswith(f"is at the {shape.position}.")
            if kind == "exists":
                name = re.search(r"(?:Yes, there is an?|No, there is no) (\w+ \w+)", answer).group(1)
                assert answer.split(". ")[-1].startswith("Yes") == any(s.name == name for s in scene.objects)


def test_an_empty_picture_is_drawn_empty_and_every_answer_says_no_shape_is_there():
    rng = random.Random(15)
    for renderer in ("train", "heldout"):
        for kind in ("describe", "count", "colour", "where", "exists"):
            example = sample_robust_example(rng, "heldout", kind, renderer, empty=True)
            assert example.scene.objects == ()
            pixels = np.asarray(example.media[0].convert("RGB"), dtype=float).reshape(-1, 3)
            assert np.abs(pixels - np.median(pixels, axis=0)).max(axis=1).mean() < 12, "nothing but background and noise"
            if kind == "describe":
                assert re.fullmatch(r"There are no shapes on an? [a-z ]+ background\.", example.answer), example.answer
                continue
            assert example.answer.startswith("I see no shapes. ") and "(" not in example.answer, example.answer
            assert re.search(r"(there are no|there is no) [a-z ]+\.$", example.answer, re.IGNORECASE), example.answer
            if kind == "exists":
                assert "No, there is no" in example.answer
    with pytest.raises(ValueError, match="min_objects"):
        sample_varied_scene(rng, "train", min_objects=-1)


def test_each_listed_shape_is_checked_against_what_the_question_asks():
    rng = random.Random(12)
    for _ in range(60):
        for kind in ("count", "colour", "where", "exists"):
            example = sample_robust_example(rng, "heldout", kind, video_frames=1)
            checks = re.findall(r"\(is it ([^?]+)\? (yes|no)(?:: (\w+))?\)", example.answer)
            if kind == "count" and not checks:  # "how many shapes": each one numbered as listed
                tallies = re.findall(r"\((\w+)\)", example.answer)
                assert tallies == list(_NUMBERS[1 : len(example.scene.objects) + 1]), example.answer
                continue
            assert len(checks) == len(example.scene.objects), example.answer
            for shape, (asked, verdict, _) in zip(example.scene.objects, checks):
                words = asked.removeprefix("the ").removeprefix("a ").removeprefix("an ")
                matches = words in (shape.name, shape.kind, shape.colour, f"{shape.kind} at the {shape.position}")
                assert verdict == ("yes" if matches else "no"), (shape, example.answer)
            tallies = [t for _, verdict, t in checks if verdict == "yes"]  # a count numbers what it counts
            assert tallies == (list(_NUMBERS[1 : len(tallies) + 1]) if kind == "count" else [""] * len(tallies))


def test_motion_answers_say_start_end_then_the_direction():
    rng = random.Random(10)
    for _ in range(40):
        example = sample_robust_example(rng, "heldout", "motion", video_frames=2)
        video: VideoScene = example.scene
        move = next(e for e in video.events if e.kind == "move" and e.shape.name in _normalised(example.question))
        assert example.answer.startswith("At the start, I see ")
        assert example.answer.endswith(
            f"The {move.shape.name} is at the {move.shape.position} at the start and at the {move.destination} at the end, "
            f"so it moves {move.direction}."
        )


def test_video_descriptions_list_halfway_and_the_end_each_after_the_events_that_made_it():
    rng = random.Random(13)
    for _ in range(60):
        example = sample_robust_example(rng, "heldout", "describe_video", video_frames=2)
        video: VideoScene = example.scene
        answer = example.answer
        halfway_frame = uniform_frame_indices(video.num_frames, 6)[2]  # the third of the six frames the target sees
        halfway, end = state_after(video, halfway_frame), state_after(video, video.num_frames - 1)
        halfway_text, end_text = f"Halfway, {i_see(halfway)}", f"At the end, {i_see(end)}"
        assert halfway_text in answer and answer.index(halfway_text) < answer.index(end_text), answer
        # Two events: the first is over halfway and the second not begun; one event: nothing has happened yet.
        assert halfway == state_after(video, 0 if len(video.events) == 1 else video.events[1].start - 1), answer
        events = answer.split(" Then ")[1:]
        assert len(events) == len(video.events) and answer.count(" Then ", answer.index(end_text)) == 1, answer


def test_training_draws_two_event_video_descriptions_more_often_and_held_out_ones_as_before():
    def two_event_share(split: str, kind: str) -> float:
        rng = random.Random(5)
        return sum(len(sample_varied_video(rng, split, kind).events) == 2 for _ in range(400)) / 400

    assert abs(two_event_share("train", "describe_video") - TRAIN_TWO_EVENT_DESCRIPTION_SHARE) < 0.07
    for split, kind in [("heldout", "describe_video"), ("train", "motion"), ("heldout", "motion")]:
        assert abs(two_event_share(split, kind) - 0.5) < 0.07, (split, kind)


@pytest.mark.parametrize("kind", ROBUST_KINDS)
def test_scoring_accepts_the_worlds_answer_and_rejects_a_changed_fact(kind):
    rng = random.Random(11)
    change = {
        "describe": lambda a: a.replace(" at the ", " at the far ", 1),
        "describe_video": lambda a: a.replace(" at the ", " at the far ", 1),
        "count": lambda a: re.sub(r"(there (?:is|are)) (\w+)", lambda m: f"{m[1]} {'no' if m[2] != 'no' else 'one'}", a),
        "colour": lambda a: a[:-1] + "ish.", "where": lambda a: a[:-1] + " corner.",
        "exists": lambda a: a.replace("Yes,", "No,") if "Yes," in a else a.replace("No,", "Yes,"),
        "motion": lambda a: re.sub(r"moves (\w+)\.$", "moves nowhere.", a), OFF_TOPIC: lambda a: a + " Sorry.",
    }
    for _ in range(5):
        example = sample_robust_example(rng, "heldout", kind, video_frames=2)
        assert is_right(kind, example.answer, example.answer)
        assert not is_right(kind, example.answer, change[kind](example.answer)), example.answer


def test_the_eval_tells_a_miss_of_seeing_from_a_miss_of_reading():
    expected = "I see a red circle at the top left and a blue square at the center. The blue square is at the center."
    answers = {
        "I see a red circle at the top left. The blue square is at the center.": (False, True),  # a shape missed
        "I see a red circle at the top left and a blue square at the center. The blue square is at the top left.": (True, False),
        expected: (True, True),
        "The blue square is at the center.": (False, True),  # no list at all: not a right one
    }
    for answer, (sees, right) in answers.items():
        assert sees_right(expected, answer) is sees and is_right("where", expected, answer) is right
    assert sees_right("There is one shape: a small red circle at the center.", "anything") is None  # nothing listed
    result = {"cells": {}, "off_topic": 1.0, "off_topic_requests": 1,
              "reading": robustness.reading_shares({"where": list(answers.values())}, {"where": [True, False, True, True]},
                                                   {"where": [(False, True)] * 8 + [(True, True), (True, False)]})}
    assert result["reading"]["where"] == {"answers": 4, "list_right": 0.5, "right_given_list": 0.5, "right_given_true_list": 0.75,
                                          "checks_right": 0.9, "yes_checks_right": 0.5}  # of the two " yes" checks, one
    assert "| where | 4 | 50% | 50% | 90% | 50% | 75% |" in robustness.table(result)
    result["refused"] = {"describe": 0.05, "where": 0.0}  # in-world questions given the off-topic answer
    assert "answered with the off-topic answer instead: describe 5%, where 0%." in robustness.table(result)


def test_the_eval_tells_which_of_several_lists_is_seen_wrong():
    expected = "At the start, I see a red circle at the top left. At the end, I see a red circle at the center. So ..."
    assert each_list_right(expected, expected) == [True, True]
    assert each_list_right(expected, expected.replace("red circle at the center", "red star at the center")) == [True, False]
    assert each_list_right(expected, "At the start, I see a red circle at the top left.") == [True, False]  # one list only
    result = {"cells": {}, "off_topic": None, "lists_right": {"motion": [0.9, 0.75]}}
    assert "motion at the start 90%, at the end 75%" in robustness.table(result)


def seen_wrong(kind: str, expected: str, answer: str) -> dict[str, int]:
    return seeing_errors(listed_and_true(kind, expected, answer))


def test_the_eval_says_what_was_seen_wrong_object_by_object():
    expected = "I see a red circle at the top left, a blue square at the center and a blue star at the bottom left. Yes, ..."
    answer = "I see a red star at the top left, a green circle at the center and a blue star at the top right. No, ..."
    assert seen_wrong("exists", expected, answer) == {
        "right": 0, "shape": 1, "colour": 0, "shape and colour": 1, "missed": 1, "invented": 1}
    assert seen_wrong("exists", expected, "No, there is none.")["missed"] == 3  # no list at all: all missed
    assert shape_confusions(listed_and_true("exists", expected, answer)) == {"circle as star": 1, "square as circle": 1}
    start, end = "At the start, I see a red circle at the top left.", " At the end, I see a red circle at the center."
    assert seen_wrong("motion", start + end, start + " At the end, I see a blue circle at the center.")["colour"] == 1
    described = "There is a small red circle at the top left. There is a large blue square at the center."
    assert seen_wrong("describe", described, described.replace("large blue", "small blue"))["right"] == 2  # sizes aside
    assert seen_wrong("where", "There is no purple triangle.", "anything") == {}  # nothing listed to compare
    result = {"cells": {}, "off_topic": 1.0, "off_topic_requests": 1,
              "seeing_errors": {"exists": seen_wrong("exists", expected, answer)}}
    assert "| exists | 3 | 0% | 33% | 0% | 33% | 33% | 33% |" in robustness.table(result)


def test_scoring_reads_the_shipped_targets_old_answer_forms():
    assert is_right("count", "I see a red circle at the top left. One of them is a circle, so there is one circle.",
                    "There is one circle: a small red circle at the top left.")
    assert is_right("motion", "... so it moves up.", "The red circle moves up from the center to the top middle.")
    assert is_right("describe_video", "At the start, there is one shape on a cream background. There is a small red circle at the center. "
                    "Then the red circle moves from the center to the top middle, so it moves up.",
                    "At the start, there is one shape on a cream background. There is a large red circle at the center. "
                    "Then the red circle moves up from the center to the top middle.")


def test_pad_to_square_centres_the_picture_on_its_own_background():
    rng = random.Random(12)
    scene = sample_varied_scene(rng, "heldout", aspect=3.0)
    style = dataclasses.replace(sample_style(rng, scene), noise=0.0, jpeg_quality=None)
    image = draw_varied(scene.width, scene.height, scene.background, [Placed(s, s.row, s.col) for s in scene.objects], style)
    square = pad_to_square(image)
    assert square.size == (scene.width, scene.width)
    top = (scene.width - scene.height) // 2
    assert square.getpixel((0, 0)) == scene.background and square.getpixel((scene.width - 1, scene.width - 1)) == scene.background
    assert np.array_equal(np.asarray(square)[top : top + scene.height], np.asarray(image))


def test_the_pad_switch_is_off_unless_set_and_travels_with_a_saved_processor(tmp_path):
    processor = AutoProcessor.from_pretrained("models/target")
    processor.image_processor.__dict__.pop(PAD_SWITCH, None)  # as the target trained before issue 21 saved it
    assert not pads_to_square(processor)
    example = sample_robust_example(random.Random(13), "heldout", "describe", aspect=3.0)
    media = Media(frames=tuple(example.media), kind="image", name="wide")
    squashed = build_prompt(processor, example.question, media, "cpu").model_inputs["pixel_values"]
    enable_pad_to_square(processor)
    processor.save_pretrained(tmp_path)
    reloaded = AutoProcessor.from_pretrained(tmp_path)
    assert pads_to_square(reloaded)
    padded = build_prompt(reloaded, example.question, media, "cpu").model_inputs["pixel_values"]
    expected = reloaded.image_processor([pad_to_square(example.media[0])], return_tensors="pt")["pixel_values"]
    assert torch_equal(padded, expected) and not torch_equal(padded, squashed)


def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())


def test_the_evals_budgets_hold_the_longest_held_out_answer_of_each_kind():
    """robustness.MAX_NEW_TOKENS caps each kind's answers in the eval, and the app's default is above them all:
    a right answer must never be cut before it says what it answers."""
    tokenizer = AutoProcessor.from_pretrained(MODELS_DIR / "target").tokenizer
    rng = random.Random(15)
    for kind in ROBUST_KINDS:
        longest = max(len(tokenizer(sample_robust_example(rng, "heldout", kind, video_frames=2).answer).input_ids)
                      for _ in range(150))
        assert longest + 1 <= robustness.MAX_NEW_TOKENS[kind], (kind, longest)  # and its EOS
