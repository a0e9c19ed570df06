"""Every image mode becomes RGB the right way round; broken files get a clear error."""

import numpy as np
import pytest
from PIL import Image

from msd_demo.errors import UserInputError
from msd_demo.media import load_image, load_media, load_video

ASSETS = __import__("pathlib").Path(__file__).resolve().parent.parent / "assets"


def save(image: Image.Image, path, **options):
    image.save(path, **options)
    return path


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA", "1"])
def test_modes_become_rgb(tmp_path, mode):
    image = Image.new("RGB", (20, 10), (200, 30, 30)).convert(mode)
    extension = "jpg" if mode == "CMYK" else "png"
    media = load_image(save(image, tmp_path / f"x.{extension}"))
    assert media.frames[0].mode == "RGB" and media.frames[0].size == (20, 10)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    values = np.full((8, 8), 32768, dtype=np.uint16)  # mid-grey in 16 bits
    frame = load_image(save(Image.fromarray(values), tmp_path / "x.png")).frames[0]
    assert 120 <= np.asarray(frame)[0, 0, 0] <= 135


def test_transparency_is_composited_on_white(tmp_path):
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert np.asarray(load_image(save(image, tmp_path / "x.png")).frames[0])[0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (30, 10), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    frame = load_image(save(image, tmp_path / "x.jpg", exif=exif)).frames[0]
    assert frame.size == (10, 30)


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty"), (b"this is not an image", "not a readable image"), (b"\x89PNG\r\n\x1a\n\x00\x00", "not a readable image")],
)
def test_broken_images_are_refused(tmp_path, content, message):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message):
        load_image(path)


def test_truncated_image_is_refused(tmp_path):
    path = save(Image.effect_noise((64, 64), 50).convert("RGB"), tmp_path / "x.png")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserInputError, match="not a readable image"):
        load_image(path)


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(UserInputError, match="no such file"):
        load_media(tmp_path / "nope.png")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(UserInputError, match="unsupported file type"):
        load_media(tmp_path / "x.txt")


def test_video_frames_are_sampled_uniformly():
    media = load_video(ASSETS / "video_1.mp4", num_frames=6)
    assert media.is_video and len(media.frames) == 6
    assert all(frame.mode == "RGB" for frame in media.frames)


def test_broken_video_is_refused(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 20)
    with pytest.raises(UserInputError, match="video"):
        load_video(path)


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    path = save(Image.new("1", (10_000, 5_000)), tmp_path / "huge.png")  # 50 M pixels, a few kB on disk
    with pytest.raises(UserInputError, match=r"huge.png: 50,000,000 pixels; at most 40,000,000"):
        load_image(path)
