"""Input limits, in one place. Each can be changed with an environment variable (see README)."""

import os
from dataclasses import dataclass


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class Limits:
    max_upload_megabytes: float = _env_number("MSD_MAX_UPLOAD_MB", 50)
    max_image_pixels: int = int(_env_number("MSD_MAX_IMAGE_PIXELS", 40_000_000))
    video_frames: int = int(_env_number("MSD_VIDEO_FRAMES", 8))
    max_video_frames_in_file: int = int(_env_number("MSD_MAX_VIDEO_FRAMES_IN_FILE", 100_000))
    max_prompt_characters: int = int(_env_number("MSD_MAX_PROMPT_CHARS", 2_000))
    max_new_tokens: int = int(_env_number("MSD_MAX_NEW_TOKENS", 1_024))
    max_gamma: int = int(_env_number("MSD_MAX_GAMMA", 16))
    max_temperature: float = _env_number("MSD_MAX_TEMPERATURE", 2.0)


LIMITS = Limits()
