"""A wide or tall picture read as the whole squashed, then its three named thirds (inputs/thirds.py)."""

import numpy as np
import torch
from PIL import Image
from transformers import AutoProcessor

from msd_demo.inputs.media import Media
from msd_demo.inputs.prompt import build_prompt
from msd_demo.inputs.thirds import THIRDS_SWITCH, enable_thirds, picture_thirds, reads_thirds
from tests.tiny_models import IMAGE_SIZE, PATCH

QUESTION = "Describe the picture in detail."
TOKENS_PER_IMAGE = (IMAGE_SIZE // PATCH) ** 2


def striped(width: int, height: int) -> Image.Image:
    """Each pixel a colour of its own place, so a crop can be told from any other."""
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    return Image.fromarray(np.stack([x % 256, y % 256, (x * 7 + y * 3) % 256], axis=-1).astype(np.uint8))


def test_a_wide_picture_is_cut_into_its_columns_and_a_tall_one_into_its_rows():
    wide = striped(301, 100)
    thirds = picture_thirds(wide)
    assert [name for name, _ in thirds] == [" left", " middle", " right"]
    assert [third.size[1] for _, third in thirds] == [100] * 3 and sum(third.size[0] for _, third in thirds) == 301
    joined = np.concatenate([np.asarray(third) for _, third in thirds], axis=1)
    assert np.array_equal(joined, np.asarray(wide))  # nothing lost, nothing twice
    tall = striped(90, 400)
    thirds = picture_thirds(tall)
    assert [name for name, _ in thirds] == [" top", " middle", " bottom"]
    assert np.array_equal(np.concatenate([np.asarray(third) for _, third in thirds], axis=0), np.asarray(tall))


def test_a_picture_nearer_a_square_than_two_to_one_is_not_cut():
    for width, height in ((100, 100), (199, 100), (100, 199), (1, 1)):
        assert picture_thirds(striped(width, height)) == []
    assert len(picture_thirds(striped(200, 100))) == 3


def test_the_switch_is_off_unless_set_and_travels_with_a_saved_processor(llava_dir, tmp_path):
    processor = AutoProcessor.from_pretrained(llava_dir / "target")
    processor.image_processor.__dict__.pop(THIRDS_SWITCH, None)
    assert not reads_thirds(processor) and not reads_thirds(processor.tokenizer)
    enable_thirds(processor)
    processor.save_pretrained(tmp_path)
    assert reads_thirds(AutoProcessor.from_pretrained(tmp_path))


def prompt_of(processor, media: Media):
    image_token = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
    return build_prompt(processor, QUESTION, media, torch.device("cpu"), image_token)


def test_a_wide_picture_goes_in_whole_then_each_third_after_its_name(llava_dir):
    processor = AutoProcessor.from_pretrained(llava_dir / "target")
    picture = Media((striped(300, 100),), "image", "wide.png")
    plain = prompt_of(processor, picture)
    enable_thirds(processor)
    prompt = prompt_of(processor, picture)
    pixels = prompt.model_inputs["pixel_values"]
    assert pixels.shape[0] == 4 and torch.equal(pixels[:1], plain.model_inputs["pixel_values"])
    expected = processor.image_processor([third for _, third in picture_thirds(picture.frames[0])], return_tensors="pt")
    assert torch.equal(pixels[1:], expected["pixel_values"])
    assert int(prompt.visual_mask.sum()) == 4 * TOKENS_PER_IMAGE
    text = processor.tokenizer.decode(prompt.input_ids[0][~prompt.visual_mask])
    assert text.index(" left") < text.index(" middle") < text.index(" right") < text.index(QUESTION)
    # Between the images, each third's name alone.
    ids, visual = prompt.input_ids[0].tolist(), prompt.visual_mask.tolist()
    starts = [i for i in range(1, len(ids)) if visual[i] and not visual[i - 1]]
    ends = [i for i in range(1, len(ids)) if visual[i - 1] and not visual[i]]
    between = [processor.tokenizer.decode(ids[end:start]) for end, start in zip(ends, starts[1:])]
    assert len(starts) == 4 and between == [" left", " middle", " right"]


def test_square_pictures_and_video_frames_are_never_cut(llava_dir):
    processor = AutoProcessor.from_pretrained(llava_dir / "target")
    square = Media((striped(120, 110),), "image", "square.png")
    video = Media(tuple(striped(300, 100) for _ in range(3)), "video", "wide.mp4")
    plain = [prompt_of(processor, media) for media in (square, video)]
    enable_thirds(processor)
    for before, media in zip(plain, (square, video)):
        after = prompt_of(processor, media)
        assert torch.equal(after.input_ids, before.input_ids)
        assert torch.equal(after.model_inputs["pixel_values"], before.model_inputs["pixel_values"])
