"""Model presets: which target and which draft models make up a lineup, and loading them once."""

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from msd_demo.engine.drafters import (
    DRAFTER_DESCRIPTIONS,
    HEAD_DRAFTERS,
    Drafter,
    ModelDrafter,
    PromptLookupDrafter,
    head_drafter,
    load_head,
)
from msd_demo.errors import UserInputError
from msd_demo.limits import LIMITS
from msd_demo.models import LoadedModel, load_model, single_device_map

MODELS_DIR = Path(os.environ.get("MSD_MODELS_DIR", Path(__file__).resolve().parent.parent / "models"))
# Drafters that run a model of their own, and whether that model sees the image.
MODEL_DRAFTERS = {"model": True, "text-only": False}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class Preset:
    name: str
    target: str
    draft_models: dict[str, str] = field(default_factory=dict)  # drafter name -> model (or head) folder or hub id
    description: str = ""
    hardware: str = ""
    size: str = ""  # parameters of the target and of each draft model
    video_frames: int = LIMITS.video_frames  # frames sampled per video: what the target was trained to see
    visual_words_file: str | None = None  # words that name what is seen, one a line (for alpha by word class)
    processor_options: dict = field(default_factory=dict)  # e.g. an image size limit, for the VLMs' processors

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
        size=f"target 6.2M, drafts 2.1M and 0.5M, heads 0.6M to 1.3M parameters each ({_megabytes(models_dir):.0f} MB)",
        video_frames=6,
        visual_words_file=str(models_dir / "visual_words.txt"),
    )


# Hub presets: the same code path, weights from the hub on first use (sizes: parameters; bf16 = 2 bytes each).
HUB_PRESETS = [
    Preset(
        name="llava-interleave",
        target="llava-hf/llava-interleave-qwen-7b-hf",
        draft_models={"model": "llava-hf/llava-interleave-qwen-0.5b-hf"},
        description="LLaVA-Interleave (Qwen1.5 + SigLIP), 7B target, 0.5B LLaVA-Interleave draft with the same "
                    "tokenizer and image tokens",
        hardware="one GPU with 24 GB or more (A10G, L4, L40S, A100, H100), or ZeroGPU",
        size="target 8.1B, draft 0.9B: about 18 GB in bf16",
    ),
    Preset(
        name="qwen2.5-vl",
        target="Qwen/Qwen2.5-VL-7B-Instruct",
        draft_models={"model": "Qwen/Qwen2.5-VL-3B-Instruct", "text-only": "Qwen/Qwen2.5-0.5B-Instruct"},
        description="Qwen2.5-VL 7B target (M-RoPE); Qwen2.5-VL 3B draft (vocabulary padded differently: drafts "
                    "over the shared ids) and a text-only Qwen2.5 0.5B draft",
        hardware="one GPU with 40 GB or more (A100, L40S, H100), two 24 GB GPUs (device_map), or ZeroGPU",
        size="target 8.3B, drafts 3.8B and 0.5B: about 25 GB in bf16",
        # At most 512 visual tokens an image (a frame): Qwen's default allows 16,000 for a 12 MP photo.
        processor_options={"size": {"longest_edge": 512 * 28 * 28, "shortest_edge": 4 * 28 * 28}},
    ),
    Preset(
        name="llava-1.5",
        target="llava-hf/llava-1.5-7b-hf",
        draft_models={"text-only": "double7/vicuna-68m"},
        description="LLaVA-1.5 7B (Vicuna + CLIP) with a 68M Vicuna text-only draft, as in Gagrani et al. (2024)",
        hardware="one GPU with 24 GB or more (A10G, L4, L40S, A100, H100), or ZeroGPU",
        size="target 7.1B, draft 0.07B: about 14 GB in bf16",
        video_frames=4,  # 576 image tokens a frame in a 4,096-token context
    ),
]
def _megabytes(folder: Path) -> float:
    files = [f for f in folder.rglob("*") if f.is_file() and ".checkpoints" not in f.parts] if folder.is_dir() else []
    return sum(f.stat().st_size for f in files) / 2**20


PRESETS = {"tiny": tiny_preset(), **{preset.name: preset for preset in HUB_PRESETS}}


def get_preset(name: str, models_dir: str | Path | None = None) -> Preset:
    """models_dir replaces the tiny preset's models/ folder (tests, retrained models)."""
    if name not in PRESETS:
        raise UserInputError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    return tiny_preset(models_dir) if models_dir is not None and name == "tiny" else PRESETS[name]


class Lineup:
    """A loaded target and, loaded on first use, its draft models."""

    def __init__(self, preset: Preset, dtype: torch.dtype | None = None):
        self.preset = preset
        if not Path(preset.target).exists() and preset.name == "tiny":
            raise UserInputError(f"the tiny models are missing: {preset.target} does not exist.")
        self.target = load_model(preset.target, multimodal=True, dtype=dtype, processor_options=preset.processor_options)
        self._draft_models: dict[str, LoadedModel] = {}
        self._heads: dict = {}

    def drafter(self, name: str) -> Drafter:
        if name not in self.preset.drafters:
            allowed = ", ".join(self.preset.drafters)
            raise UserInputError(f"unknown drafter {name!r} for preset {self.preset.name}; choose one of: {allowed}.")
        if name == "prompt-lookup":
            return PromptLookupDrafter()
        if name in HEAD_DRAFTERS:
            return head_drafter(name, self.head(name), self.target)
        return ModelDrafter(name, self.draft_model(name))

    def head(self, name: str):
        if name not in self._heads:
            self._heads[name] = load_head(self.preset.draft_models[name], self.target.device, self.target.model.dtype)
        return self._heads[name]

    def draft_model(self, name: str) -> LoadedModel:
        """Loaded whole onto the device where the target takes its inputs (drafts are small)."""
        if name not in self._draft_models:
            source = self.preset.draft_models[name]
            self._draft_models[name] = load_model(
                source, MODEL_DRAFTERS[name], self.target.device, self.target.model.dtype,
                device_map=single_device_map(self.target.device), processor_options=self.preset.processor_options,
            )
        return self._draft_models[name]

    def is_loaded(self, drafter: str) -> bool:
        """Whether this drafter can start now, without loading (or downloading) a model."""
        return drafter not in self.preset.draft_models or drafter in self._draft_models or drafter in self._heads


MAX_LINEUPS = 2  # loaded lineups kept; the least recently used goes first (hub lineups take gigabytes)
_lineups: OrderedDict[tuple, Lineup] = OrderedDict()


def load_lineup(preset_name: str = "tiny", models_dir: str | None = None, dtype: str | None = None) -> Lineup:
    """Loaded once and reused across requests (the app serves many runs from one lineup).

    dtype: a torch dtype name (float32, bfloat16, float16); None = bf16 on a GPU, float32 on the CPU.
    """
    key = _lineup_key(preset_name, models_dir, dtype)
    if key not in _lineups:
        lineup = Lineup(get_preset(preset_name, models_dir), parse_dtype(dtype))
        while len(_lineups) >= MAX_LINEUPS:
            _lineups.popitem(last=False)
        _lineups[key] = lineup
    _lineups.move_to_end(key)
    return _lineups[key]


def is_lineup_loaded(preset_name: str = "tiny", models_dir: str | None = None, dtype: str | None = None) -> bool:
    """Whether load_lineup would return at once (no loading, no download)."""
    return _lineup_key(preset_name, models_dir, dtype) in _lineups


def _lineup_key(preset_name: str, models_dir, dtype: str | None) -> tuple:
    """The same lineup whichever way it is named: "auto" is the default dtype, a folder its string."""
    return preset_name, None if models_dir is None else str(models_dir), None if dtype == "auto" else dtype


def parse_dtype(name: str | None) -> torch.dtype | None:
    if name in (None, "auto"):
        return None
    if name not in DTYPES:
        raise UserInputError(f"unknown dtype {name!r}; choose one of: auto, {', '.join(DTYPES)}.")
    return DTYPES[name]
