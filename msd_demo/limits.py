"""Input limits and serving limits, in one place. Their defaults are here; an operator changes them with
environment variables (see README), read once at start-up (msd_demo/startup.py), never at import."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from msd_demo.errors import UserInputError

# field -> the environment variable that sets it
ENVIRONMENT_VARIABLES = {
    "max_upload_megabytes": "MSD_MAX_UPLOAD_MB",
    "max_image_pixels": "MSD_MAX_IMAGE_PIXELS",
    "video_frames": "MSD_VIDEO_FRAMES",
    "max_video_frames_in_file": "MSD_MAX_VIDEO_FRAMES_IN_FILE",
    "max_video_seconds": "MSD_MAX_VIDEO_SECONDS",
    "max_prompt_characters": "MSD_MAX_PROMPT_CHARS",
    "max_prompt_tokens": "MSD_MAX_PROMPT_TOKENS",
    "max_new_tokens": "MSD_MAX_NEW_TOKENS",
    "max_gamma": "MSD_MAX_GAMMA",
    "max_temperature": "MSD_MAX_TEMPERATURE",
    "max_queue": "MSD_MAX_QUEUE",
    "upload_retention_seconds": "MSD_UPLOAD_RETENTION_SECONDS",
}


@dataclass
class Limits:
    max_upload_megabytes: float = 50
    max_image_pixels: int = 40_000_000
    video_frames: int = 8
    max_video_frames_in_file: int = 100_000
    max_video_seconds: float = 3_600
    max_prompt_characters: int = 2_000
    max_prompt_tokens: int = 512
    max_new_tokens: int = 1_024
    max_gamma: int = 16
    max_temperature: float = 2.0
    # Serving: requests waiting beyond the one running (runs on one device are one at a time), and how long
    # an upload stays in temporary storage before it is deleted.
    max_queue: int = 16
    upload_retention_seconds: int = 3_600

    def update_from(self, environ: Mapping[str, str]) -> None:
        """Set each limit whose variable is in environ (in place: modules hold this one object)."""
        for limit in fields(self):
            value = environ.get(ENVIRONMENT_VARIABLES[limit.name])
            if value:
                setattr(self, limit.name, _number(ENVIRONMENT_VARIABLES[limit.name], value, limit.type))


def _number(name: str, value: str, kind):
    try:
        number = float(value)
    except ValueError:
        raise UserInputError(f"{name} must be a number, got {value!r}.") from None
    return int(number) if kind in (int, "int") else number


def env_flag(name: str, environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


LIMITS = Limits()  # the defaults until start-up reads the environment
