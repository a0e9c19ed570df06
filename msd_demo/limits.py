"""Input limits and serving limits, in one place. Each can be changed with an environment variable (see README)."""

import os
from dataclasses import dataclass


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}.") from None


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Limits:
    max_upload_megabytes: float = _env_number("MSD_MAX_UPLOAD_MB", 50)
    max_image_pixels: int = int(_env_number("MSD_MAX_IMAGE_PIXELS", 40_000_000))
    video_frames: int = int(_env_number("MSD_VIDEO_FRAMES", 8))
    max_video_frames_in_file: int = int(_env_number("MSD_MAX_VIDEO_FRAMES_IN_FILE", 100_000))
    max_video_seconds: float = _env_number("MSD_MAX_VIDEO_SECONDS", 3_600)
    max_prompt_characters: int = int(_env_number("MSD_MAX_PROMPT_CHARS", 2_000))
    max_prompt_tokens: int = int(_env_number("MSD_MAX_PROMPT_TOKENS", 512))
    max_new_tokens: int = int(_env_number("MSD_MAX_NEW_TOKENS", 1_024))
    max_gamma: int = int(_env_number("MSD_MAX_GAMMA", 16))
    max_temperature: float = _env_number("MSD_MAX_TEMPERATURE", 2.0)
    # Serving: requests waiting beyond the one running (runs on one device are one at a time), and how long
    # an upload stays in temporary storage before it is deleted.
    max_queue: int = int(_env_number("MSD_MAX_QUEUE", 16))
    upload_retention_seconds: int = int(_env_number("MSD_UPLOAD_RETENTION_SECONDS", 3_600))


LIMITS = Limits()
