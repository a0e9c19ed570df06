"""Every image mode becomes RGB the right way round; unusual images and videos decode with their content; every
kind of broken file gets a clear error."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from msd_demo.errors import UserInputError
from msd_demo.inputs.media import LONGEST_STRIP_SIDE, MAX_ASPECT_RATIO, load_image, load_media, load_video
from tests.media_files import RED, write_audio_only, write_png_header, write_video

ASSETS = Path(__file__).resolve().parent.parent / "assets"


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


@pytest.mark.parametrize("size", [(8, 8), (1, 1), (10_000, 8), (8, 3_000), (100_000, 3)], ids=str)
def test_tiny_and_strip_images_load_with_their_content(tmp_path, size):
    image = Image.new("RGB", size, RED)
    frame = load_image(save(image, tmp_path / "x.png")).frames[0]
    width, height = frame.size
    assert max(width, height) <= max(MAX_ASPECT_RATIO * min(width, height), 8) and max(width, height) <= LONGEST_STRIP_SIDE
    centre = np.asarray(frame)[height // 2, width // 2]
    assert centre.tolist() == list(RED)  # the strip itself sits in the middle of the white padding


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path):
    path = write_png_header(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(UserInputError, match=r"bomb.png: .*at most 40,000,000"):
        load_image(path)


def test_random_bytes_behind_an_image_extension(tmp_path):
    path = tmp_path / "x.jpg"
    path.write_bytes(np.random.default_rng(0).bytes(4_000))
    with pytest.raises(UserInputError, match="not a readable image"):
        load_image(path)


@pytest.mark.sweep
@pytest.mark.parametrize(
    "frames, width, height, expected_frames",
    [(1, 64, 48, 1), (5, 33, 17, 5), (3, 16, 16, 3), (7, 48, 20, 6), (3_000, 64, 48, 6)],
    ids=["one frame", "odd-sized", "narrow 16x16", "narrow 48x20", "3000 frames"],
)
def test_unusual_videos_are_sampled_with_their_content(tmp_path, frames, width, height, expected_frames):
    media = load_video(write_video(tmp_path / "x.mp4", frames, width, height), num_frames=6)
    assert len(media.frames) == expected_frames
    for frame in media.frames:
        red, green, blue = np.asarray(frame).reshape(-1, 3).mean(axis=0)
        assert red > 180 and green < 60 and blue < 60
        assert abs(frame.width / frame.height - width / height) < 0.1  # narrow ones are decoded scaled, not squashed


def test_an_absurdly_long_video_is_refused(tmp_path):
    path = write_video(tmp_path / "slow.mp4", 13, 64, 48, fps=Fraction(1, 600))  # a frame every 10 minutes: 2 h 10
    with pytest.raises(UserInputError, match=r"slow.mp4: 7,800 seconds long; videos may be at most 3,600 seconds"):
        load_video(path)


def test_a_video_with_too_many_frames_is_refused(tmp_path, monkeypatch):
    from dataclasses import replace

    from msd_demo.inputs import media

    monkeypatch.setattr(media, "LIMITS", replace(media.LIMITS, max_video_frames_in_file=1_000))  # 100,000 by default
    path = write_video(tmp_path / "many.mp4", 3_000, 64, 48)
    with pytest.raises(UserInputError, match=r"many.mp4: 3,000 frames; at most 1,000 are allowed"):
        load_video(path)


def broken_videos(tmp_path) -> dict[str, tuple[Path, str]]:
    source = (ASSETS / "video_1.mp4").read_bytes()
    faststart = write_video(tmp_path / "faststart.mp4", 60, 64, 48, faststart=True).read_bytes()
    contents = {"empty": b"", "text": b"this is not a video\n" * 20, "random": np.random.default_rng(1).bytes(5_000),
                "truncated": source[: len(source) // 2], "truncated-faststart": faststart[: len(faststart) // 2]}
    files = {name: (tmp_path / f"{name}.mp4", "empty" if name == "empty" else "damaged, truncated or not a video")
             for name in contents}
    for name, content in contents.items():
        files[name][0].write_bytes(content)
    files["audio only"] = (write_audio_only(tmp_path / "audio.mp4"), "no video stream that can be decoded")
    files["AV1 codec"] = (write_video(tmp_path / "av1.mkv", 3, 64, 64, codec="libsvtav1"), "no video stream that can be decoded")
    return files


def test_broken_videos_get_a_clear_error(tmp_path):
    for path, message in broken_videos(tmp_path).values():
        with pytest.raises(UserInputError, match=message):
            load_video(path)
