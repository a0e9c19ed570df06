"""The shapes world: deterministic, exact, honest splits, and shipped assets that the runtime can read."""

from __future__ import annotations

import json
import random
from pathlib import Path

import decord
import pytest

from msd_demo.world import (
    COLOURS,
    KINDS,
    VISUAL_WORDS,
    describe_scene,
    describe_video,
    is_visual_word,
    render_scene,
    render_video,
    sample_example,
    sample_scene,
    sample_text_example,
    sample_video,
)
from msd_demo.world.assets import DEFAULT_DIR, write_assets, write_mp4
from msd_demo.world.language import object_phrase
from msd_demo.world.render import cell_box
from msd_demo.world.scene import background_shades, resolutions

SEEDS = range(200)


def _centre_pixel(image, row: float, col: float) -> tuple[int, int, int]:
    x, y, _ = cell_box(image.width, image.height, row, col)
    return image.getpixel((int(x), int(y)))


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_example(kind):
    first, second = (sample_example(random.Random(7), "train", kind) for _ in range(2))
    assert (first.question, first.answer, first.scene) == (second.question, second.answer, second.scene)
    assert [im.tobytes() for im in first.media] == [im.tobytes() for im in second.media]


def test_text_examples_are_deterministic_and_carry_the_scene():
    assert sample_text_example(random.Random(3)) == sample_text_example(random.Random(3))
    for seed in range(50):
        question, answer = sample_text_example(random.Random(seed))
        assert "Shapes:" in question and answer.endswith(".")


def test_shapes_sit_in_distinct_cells_with_distinct_names_in_reading_order():
    for seed in SEEDS:
        scene = sample_scene(random.Random(seed))
        cells = [(s.row, s.col) for s in scene.objects]
        assert len(set(cells)) == len(cells) and cells == sorted(cells)
        assert len({s.name for s in scene.objects}) == len(scene.objects)
        assert 1 <= len(scene.objects) <= 6


def test_description_mentions_every_object_in_reading_order():
    for seed in SEEDS:
        scene = sample_scene(random.Random(seed))
        answer = describe_scene(scene)
        positions = [answer.index(object_phrase(s)) for s in scene.objects]
        assert positions == sorted(positions)
        assert scene.background_name in answer


def test_shapes_contrast_with_their_background():
    for seed in SEEDS:
        scene = sample_scene(random.Random(seed), "heldout" if seed % 2 else "train")
        for shape in scene.objects:
            distance = sum((a - b) ** 2 for a, b in zip(COLOURS[shape.colour], scene.background)) ** 0.5
            assert distance >= 90, (shape, scene.background_name)


def test_heldout_resolutions_and_shades_are_never_used_in_training():
    assert not set(resolutions("train")) & set(resolutions("heldout"))
    train_shades, heldout_shades = ({rgb for _, rgb in background_shades(s)} for s in ("train", "heldout"))
    assert not train_shades & heldout_shades
    for split in ("train", "heldout"):
        for seed in range(50):
            scene = sample_scene(random.Random(seed), split)
            assert (scene.width, scene.height) in resolutions(split)
            assert (scene.background_name, scene.background) in background_shades(split)


def test_render_draws_each_shape_in_its_colour_at_its_cell():
    for seed in range(30):
        scene = sample_scene(random.Random(seed), "heldout")
        image = render_scene(scene)
        assert image.mode == "RGB" and image.size == (scene.width, scene.height)
        for shape in scene.objects:
            assert _centre_pixel(image, shape.row, shape.col) == COLOURS[shape.colour]


def test_videos_have_8_to_32_frames_and_show_each_event_as_described():
    for seed in range(40):
        video = sample_video(random.Random(seed), "train")
        frames = render_video(video)
        assert 8 <= len(frames) <= 32 and len(frames) == video.num_frames
        assert all(f.size == (video.scene.width, video.scene.height) for f in frames)
        assert frames[0].tobytes() == render_scene(video.scene).tobytes()
        slice_len = video.num_frames // len(video.events)
        for index, event in enumerate(video.events):
            after = frames[(index + 1) * slice_len - 1]  # the event is over, the next one not begun
            gone = event.kind == "disappear"
            expected = video.scene.background if gone else COLOURS[event.shape.colour]
            assert _centre_pixel(after, event.to_row, event.to_col) == expected
            assert f"{event.kind}s" in describe_video(video)


def test_motion_answer_names_the_direction_of_the_move():
    example = sample_example(random.Random(11), "heldout", "motion")
    move = next(e for e in example.scene.events if e.kind == "move")
    assert example.answer.startswith(f"The {move.shape.name} moves {move.direction} from the")


def test_visual_words_are_the_words_that_depend_on_the_image():
    answer = "There are two red shapes: a small red circle at the top left and a large red star."
    visual = [w for w in answer.split() if is_visual_word(w)]
    assert visual == ["two", "red", "small", "red", "circle", "top", "left", "large", "red", "star."]
    assert "there" not in VISUAL_WORDS and "yes" in VISUAL_WORDS


def test_written_mp4_is_read_back_by_decord(tmp_path):
    video = sample_video(random.Random(5), "heldout", ("move",), num_frames=16)
    write_mp4(render_video(video), tmp_path / "clip.mp4")
    reader = decord.VideoReader(str(tmp_path / "clip.mp4"))
    frames = reader.get_batch(list(range(len(reader)))).asnumpy()
    assert frames.shape == (16, video.scene.height, video.scene.width, 3)


def test_shipped_assets_match_the_generator_and_are_readable(tmp_path):
    write_assets(tmp_path)
    for name in ("examples.jsonl", "suite.jsonl"):
        shipped, generated = ((folder / name).read_text() for folder in (DEFAULT_DIR, tmp_path))
        assert shipped == generated, "assets are stale: rerun python -m msd_demo.world.assets"
    rows = [json.loads(line) for line in (DEFAULT_DIR / "examples.jsonl").read_text().splitlines()]
    assert all((DEFAULT_DIR / (row.get("image") or row["video"])).is_file() for row in rows)
    for path in sorted(DEFAULT_DIR.glob("*.mp4")):
        reader = decord.VideoReader(str(path))
        assert len(reader) == 16 and reader[0].shape[2] == 3
    assert sum(p.stat().st_size for p in Path(DEFAULT_DIR).iterdir()) < 1_000_000
