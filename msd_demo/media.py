"""Decode and validate an uploaded image or video into RGB frames (PIL for images, decord for video)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from msd_demo.errors import UserInputError
from msd_demo.limits import LIMITS

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v"})
ALLOWED = "images (" + ", ".join(sorted(IMAGE_EXTENSIONS)) + ") or videos (" + ", ".join(sorted(VIDEO_EXTENSIONS)) + ")"


@dataclass(frozen=True)
class Media:
    """What the models see: one frame for an image, several uniformly sampled frames for a video."""

    frames: tuple[Image.Image, ...]
    kind: str  # "image" or "video"
    name: str

    @property
    def is_video(self) -> bool:
        return self.kind == "video"


def load_media(path: str | Path, video_frames: int = LIMITS.video_frames) -> Media:
    """Load an image or a video, chosen by the file extension."""
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
            rgb = to_rgb(ImageOps.exif_transpose(image))
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


def load_video(path: str | Path, num_frames: int = LIMITS.video_frames) -> Media:
    """Sample num_frames uniformly over the whole video, whatever its length."""
    path = _checked_file(path)
    if not 1 <= num_frames <= 64:
        raise UserInputError(f"video frames must be between 1 and 64, got {num_frames}.")
    reader = _open_video(path)
    total = len(reader)
    if total == 0:
        raise UserInputError(f"{path.name}: the video has no frames.")
    if total > LIMITS.max_video_frames_in_file:
        raise UserInputError(f"{path.name}: {total:,} frames; at most {LIMITS.max_video_frames_in_file:,} are allowed.")
    height, width = reader[0].shape[:2]
    _check_pixels(path, height * width)
    indices = np.linspace(0, total - 1, num=min(num_frames, total)).round().astype(int).tolist()
    try:
        batch = reader.get_batch(indices).asnumpy()
    except Exception as error:  # decord raises its own error types for broken streams
        raise UserInputError(f"{path.name}: could not decode the video frames ({_first_line(error)}).") from None
    frames = tuple(Image.fromarray(frame).convert("RGB") for frame in batch)
    return Media(frames=frames, kind="video", name=path.name)


def _open_video(path: Path):
    import decord  # imported here: decord is slow to import and only videos need it

    try:
        return decord.VideoReader(str(path), ctx=decord.cpu(0))
    except Exception as error:
        raise UserInputError(
            f"{path.name}: not a readable video ({_first_line(error)}); allowed are {ALLOWED}."
        ) from None


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
