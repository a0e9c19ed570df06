"""The target as LLaVA-NeXT (training/tiles.py): the same weights, pictures read as tiles at their own proportions."""

import shutil

import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from msd_demo.inputs.media import Media
from msd_demo.inputs.prompt import build_prompt
from msd_demo.training.__main__ import STAGES, main
from msd_demo.training.evaluate import greedy_answers
from msd_demo.training.tiles import reads_tiles
from tests.tiny_models import IMAGE_SIZE, PATCH, tiles_copy

QUESTION = "Describe the picture in detail."


def picture(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (200, 200, 190))
    image.paste((200, 30, 30), (width // 3, height // 3, 2 * width // 3, 2 * height // 3))
    return image


def test_the_rewritten_target_keeps_every_weight(llava_dir, tmp_path):
    folder = tiles_copy(llava_dir, tmp_path)
    assert reads_tiles(folder / "target") and not reads_tiles(llava_dir / "target")
    before = AutoModelForImageTextToText.from_pretrained(llava_dir / "target").state_dict()
    after = AutoModelForImageTextToText.from_pretrained(folder / "target").state_dict()
    assert set(after) - set(before) == {"model.image_newline"} and not after["model.image_newline"].any()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_a_picture_is_cut_into_square_tiles_at_its_own_proportions(llava_dir, tmp_path):
    processor = AutoProcessor.from_pretrained(tiles_copy(llava_dir, tmp_path) / "target")
    per_side = IMAGE_SIZE // PATCH
    # (width, height) -> tiles besides the squashed view: one for a square, three across a 3:1 picture, three down a 1:3
    for (width, height), tiles in {(96, 96): 1, (300, 100): 3, (100, 300): 3, (200, 100): 2}.items():
        prompt = build_prompt(processor, QUESTION, Media((picture(width, height),), "image", "p.png"), torch.device("cpu"),
                              processor.tokenizer.convert_tokens_to_ids(processor.image_token))
        assert tuple(prompt.model_inputs["pixel_values"].shape) == (1, 1 + tiles, 3, IMAGE_SIZE, IMAGE_SIZE)
        rows, columns = (per_side * tiles, per_side) if height > width else (per_side, per_side * tiles)
        # The view's tokens, then the tiles' patches row by row, a newline closing each row.
        assert int(prompt.visual_mask.sum()) == per_side**2 + rows * (columns + 1)


def test_a_batch_of_pictures_with_different_tile_counts_answers_as_each_alone(llava_dir, tmp_path):
    """media_batch pads the tiles of a batch to the most; LLaVA-NeXT's image_sizes keep the padding out."""
    folder = tiles_copy(llava_dir, tmp_path) / "target"
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32).eval()
    media = [Media((picture(w, h),), "image", "p.png") for w, h in ((96, 96), (300, 100), (100, 300))]
    prompts = [build_prompt(processor, QUESTION, m, torch.device("cpu")) for m in media]
    together = greedy_answers(model, processor.tokenizer, prompts, 12, batch_size=3)
    alone = [greedy_answers(model, processor.tokenizer, [p], 12, batch_size=1)[0] for p in prompts]
    assert together == alone


def test_the_target_tiles_stage_rewrites_the_target_only_when_named(llava_dir, tmp_path):
    assert "target-tiles" not in STAGES  # the full build reproduces the shipped target, which reads squashed pictures
    shutil.copytree(llava_dir / "target", tmp_path / "target")
    main(["--quick", "--out", str(tmp_path), "--stages", "target-tiles", "--threads", "1"])
    assert reads_tiles(tmp_path / "target")
    weights = (tmp_path / "target" / "model.safetensors").read_bytes()
    main(["--quick", "--out", str(tmp_path), "--stages", "target-tiles", "--threads", "1"])  # already tiles: left alone
    assert (tmp_path / "target" / "model.safetensors").read_bytes() == weights
