"""Stage 0 of a VLM: the cell labels line up with the patches each cell covers, and a few steps already learn."""

import random
import shutil

import pytest
import torch
from transformers import LlavaForConditionalGeneration

from msd_demo.training import architectures as arch
from msd_demo.training import vision
from msd_demo.training.vision import (
    ATTRIBUTES,
    EMPTY,
    NO_LABEL,
    cell_labels,
    cell_patch_weights,
    pretrain_vision,
    pretrain_vision_once,
    scene_batch,
    third_cell_weights,
    third_cells,
    widest_aspect,
    with_smaller_shapes,
)
from msd_demo.world.variety import ASPECT_FAMILIES, MAX_ASPECT, sample_style, sample_varied_scene
from tests.tiny_models import build_tokenizer

pytestmark = pytest.mark.slow  # trains or serves for real: run by the full suite, not by -m 'not slow'


def tiny_llava():
    tokenizer = build_tokenizer()
    processor = arch.llava_processor(tokenizer, 96, 32)
    text = arch.llama_config(tokenizer, 32, 1, heads=4, kv_heads=2)
    return LlavaForConditionalGeneration(arch.llava_config(tokenizer, text, 64, 2, 96, 32)), processor


def test_labels_mark_the_cells_that_hold_a_shape():
    _, processor = tiny_llava()
    pixels, weights, labels = scene_batch(random.Random(0), processor.image_processor, batch_size=8, patches_per_side=3)
    assert pixels.shape == (8, 3, 96, 96) and weights.shape == (8, 9, 9)
    assert torch.allclose(weights.sum(-1), torch.ones(8, 9))
    for name in ATTRIBUTES:
        assert labels[name].shape == (8, 9)
    empty = labels["kind"] == ATTRIBUTES["kind"].index(EMPTY)
    assert ((labels["colour"] == NO_LABEL) == empty).all() and ((labels["size"] == NO_LABEL) == empty).all()
    assert (~empty).sum(dim=1).min() >= 1  # every scene has at least one shape


def test_a_cell_of_a_padded_wide_or_tall_picture_reads_the_patches_it_covers():
    """A 3:1 picture padded to a square fills the middle third: its top-left cell lies in patch row 2 of 6,
    columns 0 and 1; a 1:3 picture's is in column 2, rows 0 and 1; a square picture's cells are 2x2 blocks."""
    wide = cell_patch_weights(300, 100, 6)[0].view(6, 6)
    assert wide[2, :2].tolist() == [0.5, 0.5] and wide.sum() - wide[2, :2].sum() < 1e-6
    tall = cell_patch_weights(100, 300, 6)[0].view(6, 6)
    assert tall[:2, 2].tolist() == [0.5, 0.5] and tall.sum() - tall[:2, 2].sum() < 1e-6
    centre = cell_patch_weights(192, 192, 6)[4].view(6, 6)
    assert torch.allclose(centre[2:4, 2:4], torch.full((2, 2), 0.25))


def test_a_third_of_a_wide_or_tall_picture_reads_its_own_column_or_row_of_the_grid():
    """Squashed to a square, a 3:1 picture's middle third holds grid column 1: its cell 4 (the centre) is patch
    rows 2-3 across the whole width; a 1:3 picture's bottom third holds grid row 2: its cell 7 is columns 2-3."""
    middle = third_cell_weights(1, wide=True, patches_per_side=6).view(9, 6, 6)
    assert middle[[1, 4, 7]].sum(dim=(1, 2)).allclose(torch.ones(3)) and middle[[0, 2, 3, 5, 6, 8]].abs().sum() == 0
    assert torch.allclose(middle[4, 2:4], torch.full((2, 6), 1 / 12)) and middle[4].sum() - middle[4, 2:4].sum() < 1e-6
    bottom = third_cell_weights(2, wide=False, patches_per_side=6).view(9, 6, 6)
    assert bottom[[6, 7, 8]].sum(dim=(1, 2)).allclose(torch.ones(3)) and bottom[:6].abs().sum() == 0
    assert torch.allclose(bottom[7, :, 2:4], torch.full((6, 2), 1 / 12))


def test_thirds_follow_their_picture_labelled_on_the_cells_they_hold():
    _, processor = tiny_llava()
    pixels, weights, labels = scene_batch(random.Random(5), processor.image_processor, 16, 3, widest=MAX_ASPECT, thirds=True)
    rng = random.Random(5)  # scene_batch draws its scenes first: the same ones again
    scenes = [sample_varied_scene(rng, "train", widest=MAX_ASPECT) for _ in range(16)]
    whole = cell_labels(scenes)
    expected = [(row, third_cells(i, scene.width > scene.height)) for row, scene in enumerate(scenes)
                if max(scene.width / scene.height, scene.height / scene.width) >= 2 for i in range(3)]
    assert expected and pixels.shape[0] == weights.shape[0] == 16 + len(expected)
    for name in ATTRIBUTES:
        assert torch.equal(labels[name][:16], whole[name])
        for extra, (row, cells) in enumerate(expected, start=16):
            others = [c for c in range(9) if c not in cells]
            assert torch.equal(labels[name][extra, cells], whole[name][row, cells])
            assert (labels[name][extra, others] == NO_LABEL).all()
            assert (weights[extra, others] == 0).all() and weights[extra, cells].sum(-1).allclose(torch.ones(3))
    assert torch.equal(labels["background"][16:], whole["background"][[row for row, _ in expected]])


def test_smaller_shapes_keep_their_kind_colour_and_place_and_are_small_half_the_time():
    rng = random.Random(11)
    pairs = [(scene, with_smaller_shapes(rng, scene, sample_style(rng, scene), 0.25))
             for scene in (sample_varied_scene(rng, "train") for _ in range(400))]
    before = [shape for scene, _ in pairs for shape in scene.objects]
    after = [shape for _, (scene, _) in pairs for shape in scene.objects]
    assert [(s.kind, s.colour, s.cell) for s in before] == [(s.kind, s.colour, s.cell) for s in after]
    assert all(a.size == "small" for b, a in zip(before, after) if b.size == "small")
    small = sum(s.size == "small" for s in after) / len(after)
    assert abs(sum(s.size == "small" for s in before) / len(before) - 1 / 3) < 0.05 and abs(small - 0.5) < 0.05
    bands = [band for _, (_, style) in pairs for band in style.sizes.values()]
    assert abs(sum(bands) / len(bands) - 1 / 3) < 0.03  # the smaller of two uniform draws


def test_the_sharpening_batch_makes_only_wide_and_tall_pictures_shapes_smaller():
    processor = arch.llava_processor(build_tokenizer(), 96, 32)
    _, _, plain = scene_batch(random.Random(6), processor.image_processor, 32, 3, widest=MAX_ASPECT)
    _, _, biased = scene_batch(random.Random(6), processor.image_processor, 32, 3, widest=MAX_ASPECT, small_share=1.0)
    rng = random.Random(6)  # the scenes are drawn first either way: the same ones
    scenes = [sample_varied_scene(rng, "train", widest=MAX_ASPECT) for _ in range(32)]
    square = [ASPECT_FAMILIES["near square"](s.width / s.height) for s in scenes]
    assert any(square) and not all(square)
    small, occupied = ATTRIBUTES["size"].index("small"), plain["kind"] != ATTRIBUTES["kind"].index(EMPTY)
    for row, is_square in enumerate(square):
        assert torch.equal(plain["kind"][row], biased["kind"][row]) and torch.equal(plain["colour"][row], biased["colour"][row])
        if is_square:
            assert torch.equal(plain["size"][row], biased["size"][row])
        else:  # small_share 1: every shape there small
            assert (biased["size"][row][occupied[row]] == small).all()


def test_the_curriculum_starts_with_square_pictures_and_reaches_4_to_1():
    assert widest_aspect(0, 1000) == widest_aspect(400, 1000) == 1.0
    assert widest_aspect(800, 1000) == widest_aspect(999, 1000) == MAX_ASPECT
    rng = random.Random(3)
    assert all(scene.width == scene.height for scene in (sample_varied_scene(rng, widest=1.0) for _ in range(50)))
    halfway = [sample_varied_scene(rng, widest=widest_aspect(600, 1000)) for _ in range(200)]
    ratios = [scene.width / scene.height for scene in halfway]
    assert max(ratios) <= 2.5 and min(ratios) >= 1 / 2.5 and any(r != 1 for r in ratios)


def test_pretraining_learns_above_chance():
    torch.manual_seed(0)
    model, processor = tiny_llava()
    accuracy, cost = pretrain_vision(model, processor.image_processor, steps=60, seed=1, batch_size=32)
    assert cost.steps == 60
    # Share of occupied cells' kind, colour and size named right; guessing gives 0.22. Measured on varied, padded
    # pictures with this 64 x 2 tower at 96 pixels: 0.19 after 40 steps, 0.28 after 60.
    assert accuracy > 0.25


def test_a_pretrained_tower_is_kept_and_reused_only_for_the_same_recipe(tmp_path):
    saved = tmp_path / "vision_tower.pt"
    torch.manual_seed(0)
    first, processor = tiny_llava()
    assert "pre-trained" in pretrain_vision_once(first, processor.image_processor, steps=2, seed=1, saved=saved)
    second, _ = tiny_llava()
    assert "loaded" in pretrain_vision_once(second, processor.image_processor, steps=2, seed=1, saved=saved)
    for a, b in zip(first.model.vision_tower.parameters(), second.model.vision_tower.parameters(), strict=True):
        assert torch.equal(a, b)
    third, _ = tiny_llava()
    assert "pre-trained" in pretrain_vision_once(third, processor.image_processor, steps=3, seed=1, saved=saved)
    fourth, _ = tiny_llava()
    assert "pre-trained" in pretrain_vision_once(fourth, processor.image_processor, steps=3, seed=1, saved=saved, wide_steps=2)
    assert torch.load(saved, weights_only=False)["key"]["wide_steps"] == 2
    fifth, _ = tiny_llava()  # a tower that learnt thirds in its wide phase is another recipe
    assert "pre-trained" in pretrain_vision_once(fifth, processor.image_processor, 3, 1, saved, wide_steps=2, thirds=True)
    assert torch.load(saved, weights_only=False)["key"]["thirds"]


def test_the_wide_phase_trains_on_every_aspect_ratio(monkeypatch):
    seen = []
    real_batch = vision.scene_batch

    def recording_batch(rng, image_processor, batch_size, patches_per_side, widest, *rest):
        seen.append(widest)
        return real_batch(rng, image_processor, batch_size, patches_per_side, widest, *rest)

    monkeypatch.setattr(vision, "scene_batch", recording_batch)
    model, processor = tiny_llava()
    pretrain_vision(model, processor.image_processor, steps=3, seed=1, batch_size=2, widest=MAX_ASPECT)
    assert seen == [MAX_ASPECT] * 3


def test_an_interrupted_tower_training_resumes_where_it_stopped(monkeypatch, tmp_path):
    """tower-sharpen runs 15 minutes: a run cut off after its last checkpoint continues from it, on the same
    batches, and ends with the tower an uninterrupted run makes."""
    from msd_demo.training import loop

    torch.manual_seed(0)
    whole, processor = tiny_llava()
    interrupted = LlavaForConditionalGeneration(whole.config)
    interrupted.load_state_dict(whole.state_dict())
    settings = {"steps": 4, "seed": 1, "batch_size": 2, "widest": MAX_ASPECT}
    torch.manual_seed(1)  # the cell probe's initial weights
    pretrain_vision(whole, processor.image_processor, **settings)

    monkeypatch.setattr(loop, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint after every step
    real_batch, calls = vision.scene_batch, []

    def cut_off_at_the_third_batch(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_batch(*args)

    monkeypatch.setattr(vision, "scene_batch", cut_off_at_the_third_batch)
    torch.manual_seed(1)
    with pytest.raises(KeyboardInterrupt):
        pretrain_vision(interrupted, processor.image_processor, checkpoint_dir=tmp_path, **settings)
    monkeypatch.setattr(vision, "scene_batch", real_batch)
    _, cost = pretrain_vision(interrupted, processor.image_processor, checkpoint_dir=tmp_path, **settings)
    assert cost.steps == 4
    for name, value in whole.model.vision_tower.state_dict().items():
        torch.testing.assert_close(interrupted.model.vision_tower.state_dict()[name], value, rtol=1e-5, atol=1e-6)


def test_the_tower_sharpen_stage_trains_the_tower_alone_and_only_once(llava_dir, tmp_path):
    from safetensors.torch import load_file

    from msd_demo.training.__main__ import STAGES, main

    assert "tower-sharpen" not in STAGES  # opt-in: the full build's first target comes from the recipe's own stages
    shutil.copytree(llava_dir / "target", tmp_path / "target")
    before = load_file(tmp_path / "target" / "model.safetensors")
    main(["--quick", "--out", str(tmp_path), "--stages", "tower-sharpen", "--threads", "1"])
    after = load_file(tmp_path / "target" / "model.safetensors")
    changed = {name for name in before if not torch.equal(before[name].to(after[name].dtype), after[name])}  # saved as fp16
    assert changed and all("vision_tower" in name for name in changed)
    weights = (tmp_path / "target" / "model.safetensors").read_bytes()
    main(["--quick", "--out", str(tmp_path), "--stages", "tower-sharpen", "--threads", "1"])  # already sharpened
    assert (tmp_path / "target" / "model.safetensors").read_bytes() == weights
