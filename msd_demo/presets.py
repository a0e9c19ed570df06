"""Model presets: which target and which draft models make up a lineup, and loading them once."""

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from msd_demo.engine.drafters import (
    DRAFTER_DESCRIPTIONS,
    HEAD_DRAFTERS,
    Drafter,
    HeadDrafter,
    ModelDrafter,
    PromptLookupDrafter,
    load_head,
)
from msd_demo.errors import UserInputError
from msd_demo.limits import LIMITS
from msd_demo.models import LoadedModel, load_model

MODELS_DIR = Path(os.environ.get("MSD_MODELS_DIR", Path(__file__).resolve().parent.parent / "models"))
# Drafters that run a model of their own, and whether that model sees the image.
MODEL_DRAFTERS = {"model": True, "text-only": False}


@dataclass(frozen=True)
class Preset:
    name: str
    target: str
    draft_models: dict[str, str] = field(default_factory=dict)  # drafter name -> model (or head) folder or hub id
    description: str = ""
    hardware: str = ""
    video_frames: int = LIMITS.video_frames  # frames sampled per video: what the target was trained to see
    visual_words_file: str | None = None  # words that name what is seen, one a line (for alpha by word class)

    @property
    def drafters(self) -> list[str]:
        return [name for name in DRAFTER_DESCRIPTIONS if name in self.draft_models or name == "prompt-lookup"]

    def visual_words(self) -> frozenset[str]:
        if self.visual_words_file is None or not Path(self.visual_words_file).is_file():
            return frozenset()
        return frozenset(Path(self.visual_words_file).read_text().split())


def tiny_preset(models_dir: str | Path = MODELS_DIR) -> Preset:
    models_dir = Path(models_dir)
    # Heads are trained for this target: offered where their folder exists (a retrained target may lack them).
    heads = {name: str(models_dir / name) for name in HEAD_DRAFTERS if (models_dir / name).is_dir()}
    return Preset(
        name="tiny",
        target=str(models_dir / "target"),
        draft_models={"model": str(models_dir / "draft-vlm"), "text-only": str(models_dir / "draft-text"), **heads},
        description="the shipped tiny models trained on the shapes world (models/)",
        hardware="CPU",
        video_frames=6,
        visual_words_file=str(models_dir / "visual_words.txt"),
    )


PRESETS = {"tiny": tiny_preset()}


def get_preset(name: str, models_dir: str | Path | None = None) -> Preset:
    """models_dir replaces the tiny preset's models/ folder (tests, retrained models)."""
    if name not in PRESETS:
        raise UserInputError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    return tiny_preset(models_dir) if models_dir is not None and name == "tiny" else PRESETS[name]


class Lineup:
    """A loaded target and, loaded on first use, its draft models."""

    def __init__(self, preset: Preset):
        self.preset = preset
        if not Path(preset.target).exists() and preset.name == "tiny":
            raise UserInputError(f"the tiny models are missing: {preset.target} does not exist.")
        self.target = load_model(preset.target, multimodal=True)
        self._draft_models: dict[str, LoadedModel] = {}
        self._heads: dict = {}

    def drafter(self, name: str) -> Drafter:
        if name not in self.preset.drafters:
            allowed = ", ".join(self.preset.drafters)
            raise UserInputError(f"unknown drafter {name!r} for preset {self.preset.name}; choose one of: {allowed}.")
        if name == "prompt-lookup":
            return PromptLookupDrafter()
        if name in HEAD_DRAFTERS:
            return HeadDrafter(name, self.head(name), self.target)
        return ModelDrafter(name, self.draft_model(name))

    def head(self, name: str):
        if name not in self._heads:
            self._heads[name] = load_head(self.preset.draft_models[name], self.target.device, self.target.model.dtype)
        return self._heads[name]

    def draft_model(self, name: str) -> LoadedModel:
        if name not in self._draft_models:
            source = self.preset.draft_models[name]
            self._draft_models[name] = load_model(source, MODEL_DRAFTERS[name], self.target.device, self.target.model.dtype)
        return self._draft_models[name]


@lru_cache(maxsize=2)
def load_lineup(preset_name: str = "tiny", models_dir: str | None = None) -> Lineup:
    """Loaded once and reused across requests (the app serves many runs from one lineup)."""
    return Lineup(get_preset(preset_name, models_dir))
