"""A lineup: a preset's target loaded once, its drafters built on first use, and the cache of loaded lineups."""

from collections import OrderedDict
from pathlib import Path

import torch

from msd_demo.engine.drafters import Drafter, ModelDrafter, PromptLookupDrafter, head_drafter, load_head
from msd_demo.engine.drafters.released_head import ReleasedHeadDrafter
from msd_demo.errors import UserInputError
from msd_demo.loading.models import LoadedModel, load_model, single_device_map
from msd_demo.loading.released_heads import load_released_head
from msd_demo.loading.shared_kv_attention import share_kv_heads_on_cpu
from msd_demo.loading.verify_linear import pack_for_verification
from msd_demo.presets.catalog import HEAD_DRAFTERS, MODEL_DRAFTERS, Preset, get_preset

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class Lineup:
    """A loaded target and, loaded on first use, its draft models."""

    def __init__(self, preset: Preset, dtype: torch.dtype | None = None):
        self.preset = preset
        if not Path(preset.target).exists() and preset.name == "tiny":
            raise UserInputError(f"the tiny models are missing: {preset.target} does not exist.")
        self.target = load_model(preset.target, multimodal=True, dtype=dtype, processor_options=preset.processor_options)
        pack_for_verification(self.target.model)  # on the CPU, a verify's few rows for less (verify_linear.py)
        share_kv_heads_on_cpu(self.target.model)  # and its attention without copying the KV cache (shared_kv_attention.py)
        self._draft_models: dict[str, LoadedModel] = {}
        self._heads: dict = {}

    def drafter(self, name: str) -> Drafter:
        if name not in self.preset.drafters:
            allowed = ", ".join(self.preset.drafters)
            raise UserInputError(f"unknown drafter {name!r} for preset {self.preset.name}; choose one of: {allowed}.")
        if name == "prompt-lookup":
            return PromptLookupDrafter()
        if name in self.preset.released_heads:
            return ReleasedHeadDrafter(name, self.head(name), self.target)
        if name in HEAD_DRAFTERS:
            return head_drafter(name, self.head(name), self.target)
        return ModelDrafter(name, self.draft_model(name))

    def head(self, name: str):
        if name not in self._heads:
            source, device, dtype = self.preset.draft_models[name], self.target.device, self.target.model.dtype
            if name in self.preset.released_heads:
                self._heads[name] = load_released_head(source, self.preset.released_heads[name], device, dtype)
            else:
                self._heads[name] = load_head(source, device, dtype)
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
