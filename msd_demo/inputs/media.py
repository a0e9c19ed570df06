"""Decode and validate an uploaded image or video into RGB frames (PIL for images, decord for video)."""

import math
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from msd_demo.errors import UserInputError
from msd_demo.limits import LIMITS

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v"})
ALLOWED = "images (" + ", ".join(sorted(IMAGE_EXTENSIONS)) + ") or videos (" + ", ".join(sorted(VIDEO_EXTENSIONS)) + ")"
VIDEO_CODECS = "H.264, H.265, VP8, VP9 or MPEG-4 video"
# Beyond this ratio processors fail (Qwen2-VL refuses 200:1) or blow up (CLIP's shortest-edge resize turns a
# 10000x8 strip into 420000x336), so a longer strip is shrunk to LONGEST_STRIP_SIDE and padded with white.
MAX_ASPECT_RATIO = 20
LONGEST_STRIP_SIDE = 4096
# decord's frame copy fails on some narrow widths (8, 16, 24, 48, 72 pixels ...): those are decoded scaled up.
NARROWEST_DECODED_WIDTH = 128


@dataclass(frozen=True)
class Media:
    """What the models see: one frame for an image, several uniformly sampled frames for a video."""

    frames: tuple[Image.Image, ...]
    kind: str  # "image" or "video"
    name: str

    @property
    def is_video(self) -> bool:
        return self.kind == "video"


def load_media(path: str | Path, video_frames: int | None = None) -> Media:
    """Load an image or a video, chosen by the file extension; video_frames defaults to the limit's."""
    path = _checked_file(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return load_video(path, video_frames)
    if suffix in IMAGE_EXTENSIONS:
        return load_image(path)
    raise UserInputError(f"{path.name}: unsupported file type {suffix or '(none)'}; allowed are {ALLOWED}.")


def load_image(path: str | Path) -> Media:
    path = _checked_file(path)
    try:
        with Image.open(path) as image:
            _check_pixels(path, image.width * image.height)
            image.load()
            rgb = bounded_aspect(to_rgb(ImageOps.exif_transpose(image)))
    except UserInputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UserInputError(f"{path.name}: not a readable image ({_first_line(error)}); allowed are {ALLOWED}.") from None
    except Image.DecompressionBombError:
        raise UserInputError(f"{path.name}: image too large; at most {LIMITS.max_image_pixels:,} pixels.") from None
    return Media(frames=(rgb,), kind="image", name=path.name)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: 16-bit scaled (not clipped), transparency composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / scale * 255.0, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def bounded_aspect(image: Image.Image) -> Image.Image:
    """An image more than MAX_ASPECT_RATIO times wider than tall (or the reverse), padded with white to that ratio."""
    width, height = image.size
    if max(width, height) <= MAX_ASPECT_RATIO * min(width, height):
        return image
    scale = min(1.0, LONGEST_STRIP_SIDE / max(width, height))
    if scale < 1.0:
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
        image = image.resize((width, height))
    padded = (width, max(height, math.ceil(width / MAX_ASPECT_RATIO)))
    if height > width:
        padded = (max(width, math.ceil(height / MAX_ASPECT_RATIO)), height)
    canvas = Image.new("RGB", padded, (255, 255, 255))
    canvas.paste(image, ((padded[0] - width) // 2, (padded[1] - height) // 2))
    return canvas


def uniform_frame_indices(total: int, count: int) -> list[int]:
    """`count` frames evenly spaced over a video of `total`, first and last included, each rounded to the
    nearest frame: how a video is sampled here, and so how the world's training videos are too."""
    return np.linspace(0, total - 1, num=min(count, total)).round().astype(int).tolist()


def load_video(path: str | Path, num_frames: int | None = None) -> Media:
    """Sample num_frames (default: the limit's) uniformly over the whole video, whatever its length."""
    path = _checked_file(path)
    num_frames = LIMITS.video_frames if num_frames is None else num_frames
    if not 1 <= num_frames <= 64:
        raise UserInputError(f"video frames must be between 1 and 64, got {num_frames}.")
    reader = _open_video(path)
    total = len(reader)
    _check_video_length(path, total, reader.get_avg_fps())
    height, width = _decoded(path, lambda: reader[0].shape[:2])
    _check_pixels(path, height * width)
    if width < NARROWEST_DECODED_WIDTH:
        reader = _open_video(path, NARROWEST_DECODED_WIDTH, max(2, round(height * NARROWEST_DECODED_WIDTH / width)))
    indices = uniform_frame_indices(total, num_frames)
    batch = _decoded(path, lambda: reader.get_batch(indices).asnumpy())
    frames = tuple(bounded_aspect(Image.fromarray(frame).convert("RGB")) for frame in batch)
    return Media(frames=frames, kind="video", name=path.name)


def _open_video(path: Path, width: int = -1, height: int = -1):
    import decord  # imported here: decord is slow to import and only videos need it

    decord.logging.set_level(decord.logging.QUIET)  # ffmpeg's own log lines would break the CLI's one-line errors
    try:
        with _native_stderr_silenced():
            return decord.VideoReader(str(path), ctx=decord.cpu(0), width=width, height=height)
    except Exception as error:  # decord raises its own error types (and RuntimeError) for unreadable files
        raise UserInputError(f"{path.name}: not a readable video ({_video_problem(error)}); allowed are {ALLOWED}.") from None


def _decoded(path: Path, decode):
    try:
        with _native_stderr_silenced():
            return decode()
    except Exception as error:  # decord raises its own error types for broken streams
        raise UserInputError(f"{path.name}: could not decode the video frames ({_video_problem(error)}).") from None


_stderr_lock = threading.Lock()


@contextmanager
def _native_stderr_silenced():
    """decord's C++ layer prints its own error lines to file descriptor 2, past Python; the UserInputError we
    raise says it better, and the CLI promises one line. Held for one open or decode, so little else is lost."""
    with _stderr_lock:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _check_video_length(path: Path, frames: int, frames_per_second: float) -> None:
    if frames == 0:
        raise UserInputError(f"{path.name}: the video has no frames.")
    if frames > LIMITS.max_video_frames_in_file:
        raise UserInputError(f"{path.name}: {frames:,} frames; at most {LIMITS.max_video_frames_in_file:,} are allowed.")
    seconds = frames / frames_per_second if frames_per_second > 0 else 0.0  # unknown rate: the frame limit holds
    if seconds > LIMITS.max_video_seconds:
        raise UserInputError(f"{path.name}: {seconds:,.0f} seconds long; videos may be at most {LIMITS.max_video_seconds:,.0f} seconds.")


def _video_problem(error: BaseException) -> str:
    """decord's messages name its own source files; say instead what is wrong with the file."""
    if "cannot find video stream" in str(error):
        return f"no video stream that can be decoded; supported are {VIDEO_CODECS}"
    return f"damaged, truncated or not a video; supported are {VIDEO_CODECS}"


def _checked_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: no such file.")
    size = path.stat().st_size
    if size == 0:
        raise UserInputError(f"{path.name}: the file is empty (0 bytes).")
    if size > LIMITS.max_upload_megabytes * 1024 * 1024:
        raise UserInputError(
            f"{path.name}: {size / 2**20:.1f} MB; uploads may be at most {LIMITS.max_upload_megabytes:g} MB."
        )
    return path


def _check_pixels(path: Path, pixels: int) -> None:
    # Checked from the header, before decoding, so a decompression bomb never reaches memory.
    if pixels > LIMITS.max_image_pixels:
        raise UserInputError(f"{path.name}: {pixels:,} pixels; at most {LIMITS.max_image_pixels:,} are allowed.")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:160] if text else type(error).__name__
