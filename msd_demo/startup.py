"""The operator's settings, read from the environment once, at start-up (app.py, the CLI's main), never at import.

- MSD_MAX_* and the other limits (limits.py): what a request may ask for.
- MSD_MODELS_DIR: a folder laid out like models/ that replaces the tiny preset's.
- MSD_PRESET: the app's default preset (and the /compare API's), checked here so a typo stops the app at once.
- MSD_TORCH_THREADS: torch's CPU threads.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from msd_demo.errors import UserInputError
from msd_demo.limits import LIMITS
from msd_demo.presets.catalog import PRESETS, get_preset


@dataclass(frozen=True)
class Startup:
    models_dir: str | None  # None: the shipped models/
    preset: str
    torch_threads: int | None  # None: torch's default


def read_environment(environ: Mapping[str, str] = os.environ) -> Startup:
    """Read every setting, apply the limits; raises ValueError naming a variable whose value is wrong."""
    LIMITS.update_from(environ)
    threads = environ.get("MSD_TORCH_THREADS")
    if threads and not threads.isdigit():
        raise UserInputError(f"MSD_TORCH_THREADS must be a whole number, got {threads!r}.")
    preset = get_preset(environ.get("MSD_PRESET") or next(iter(PRESETS))).name
    return Startup(environ.get("MSD_MODELS_DIR") or None, preset, int(threads) if threads else None)


def set_torch_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
