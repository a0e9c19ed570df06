"""The app's only caller of the engine: check the input, load the models once, warm up, race the two runs.

Plain values in, RaceSnapshots and JSON-able dicts out; no gradio here, so it is tested as plain functions.
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import torch

from msd_demo.engine import DecodeConfig, SamplingConfig, speculative, target_only
from msd_demo.engine.tree import TreeConfig
from msd_demo.errors import UserInputError
from msd_demo.faults import out_of_memory_error
from msd_demo.inputs.media import load_media
from msd_demo.measure.run_json import comparison_json
from msd_demo.measure.side_by_side import Request
from msd_demo.presets.catalog import PRESETS, get_preset
from msd_demo.presets.lineup import Lineup, is_lineup_loaded, load_lineup
from msd_demo.startup import Startup, set_torch_threads
from msd_demo.ui.gpu import gpu_seconds, on_gpu
from msd_demo.ui.race import RaceSnapshot, race
from msd_demo.ui.summary import TIMING_NOTE

_startup = Startup(models_dir=None, preset=next(iter(PRESETS)), torch_threads=None)  # until configure()


def configure(startup: Startup) -> None:
    """The app's settings, read once at start-up (app.py). One CPU thread for the app's torch work unless
    MSD_TORCH_THREADS says otherwise: a web server's own threads (and, in tests, the browser) compete for the
    cores, and torch's OpenMP threads then wait for a busy core, which we measured inflating a verify step from
    3 ms to 250 ms on 2 cores. One thread is ~25% slower when idle but never stalls, so the race stays honest."""
    global _startup
    _startup = startup
    set_torch_threads(startup.torch_threads or (None if torch.cuda.is_available() else 1))


def current_startup() -> Startup:
    return _startup


def default_preset() -> str:
    """MSD_PRESET (a GPU Space picks its hub preset so), else the first preset: tiny."""
    return _startup.preset


def default_drafter(preset: str | None = None) -> str:
    """The seed paper's method where the preset has it, else a draft model (llava-1.5 has no `model` either)."""
    drafters = get_preset(preset or default_preset(), models_dir()).drafters
    return next((name for name in ("msd", "model") if name in drafters), drafters[0])


DEFAULTS = DecodeConfig()
TREE = TreeConfig()
DRAFTS = ("chain", "tree", "dynamic chain")  # the app's Draft choice
DYNAMIC_CHAIN_THRESHOLD = 0.2  # the app's starting value: a draft path below 20% cumulative q is seldom accepted


@dataclass(frozen=True)
class Settings:
    """What a person picks in the UI (or passes to the API); checked by decode_config(). tree: draft EAGLE-2
    trees of the tree_* shape instead of chains of gamma tokens; dynamic_threshold > 0: stop a draft once its
    best path's cumulative q falls below it."""

    preset: str = field(default_factory=default_preset)
    drafter: str = field(default_factory=default_drafter)
    gamma: int = DEFAULTS.gamma
    temperature: float = DEFAULTS.sampling.temperature
    max_new_tokens: int = DEFAULTS.max_new_tokens
    seed: int = DEFAULTS.sampling.seed
    tree: bool = False
    tree_top_k: int = TREE.top_k
    tree_depth: int = TREE.depth
    tree_nodes: int = TREE.nodes
    dynamic_threshold: float = DEFAULTS.dynamic_threshold

    def decode_config(self) -> DecodeConfig:
        """The engine's own config classes check every value (UserInputError with what is allowed)."""
        sampling = SamplingConfig(temperature=_number("temperature", self.temperature), seed=_whole("seed", self.seed))
        tree = TreeConfig(_whole("tree top-k", self.tree_top_k), _whole("tree depth", self.tree_depth),
                          _whole("tree nodes", self.tree_nodes)) if _flag("tree", self.tree) else None
        return DecodeConfig(_whole("max new tokens", self.max_new_tokens), _whole("gamma", self.gamma), sampling, tree,
                            _number("dynamic threshold", self.dynamic_threshold))


def tree_shape(preset: str, drafter: str) -> tuple[int, int, int]:
    """(top-k, depth, nodes) a tree starts from: the paper's where the preset runs its released head, else ours."""
    return get_preset(preset, models_dir()).tree_defaults.get(drafter, (TREE.top_k, TREE.depth, TREE.nodes))


def draft_settings(draft: str, top_k, depth, nodes, threshold) -> dict:
    """The app's Draft choice -> Settings' tree fields: a tree of the given shape, a chain of gamma tokens, or
    a dynamic chain that stops below the threshold (the shape and threshold unused where they do not apply)."""
    if draft not in DRAFTS:
        raise UserInputError(f"unknown draft {draft!r}; choose one of: {', '.join(DRAFTS)}.")
    if draft == "dynamic chain" and not _number("dynamic threshold", threshold) > 0:
        raise UserInputError(f"a dynamic chain needs a threshold above 0 (and below 1), got {threshold!r}.")
    return dict(tree=draft == "tree", tree_top_k=top_k, tree_depth=depth, tree_nodes=nodes,
                dynamic_threshold=threshold if draft == "dynamic chain" else 0.0)


def draft_depth(config: DecodeConfig) -> int:
    """The longest path a draft can have: gamma for a chain, the depth for a tree."""
    return config.tree.depth if config.tree else config.gamma


def models_dir() -> str | None:
    """MSD_MODELS_DIR as read at start-up: a folder that replaces the tiny preset's models/."""
    return _startup.models_dir


def lineup_for(preset: str) -> Lineup:
    return load_lineup(preset, models_dir())


def preload(preset: str | None = None) -> None:
    """Load the target and every draft model now. On ZeroGPU each call runs in a fork of this process, so
    models loaded here are shared; loaded inside a call they would be loaded again on every call."""
    preset = preset or default_preset()
    for name in get_preset(preset, models_dir()).drafters:
        for _ in load_with_progress(preset, name):
            pass


def eos_token_ids(preset: str) -> frozenset[int]:
    """The target's end-of-sequence ids, which the panels show as a chip."""
    return lineup_for(preset).target.eos_token_ids


def reduced_precision(preset: str) -> str | None:
    """The target's dtype when below float32 (bf16 on a GPU), where greedy identity may break at near-ties."""
    dtype = lineup_for(preset).target.model.dtype
    return None if dtype == torch.float32 else str(dtype).removeprefix("torch.")


def load_with_progress(preset_name: str, drafter: str) -> Iterator[str]:
    """Load what this run needs and is not loaded yet, saying what before each part: a hub preset downloads
    gigabytes on first use. Raises UserInputError when a model cannot be had (offline, gated, too big)."""
    preset = get_preset(preset_name, models_dir())
    if not is_lineup_loaded(preset_name, models_dir()):
        yield f"loading the target {preset.target} ({preset.size}); the first time it is downloaded, which can take minutes..."
    lineup = lineup_for(preset_name)
    if not lineup.is_loaded(drafter):
        yield f"loading the {drafter} draft {preset.draft_models[drafter]}..."
        lineup.drafter(drafter)


def prepare(media_path: str | None, prompt: str | None, settings: Settings) -> Request:
    """Check everything a person can get wrong before any model runs; raises UserInputError."""
    if not media_path:
        raise UserInputError("no image or video: upload one (or pick an example), then press Run.")
    config = settings.decode_config()
    preset = get_preset(settings.preset, models_dir())
    if settings.drafter not in preset.drafters:
        raise UserInputError(f"unknown drafter {settings.drafter!r}; choose one of: {', '.join(preset.drafters)}.")
    media = load_media(media_path, preset.video_frames)
    return Request(prompt or "", media, settings.drafter, config)


@on_gpu(duration=lambda preset, request, stop=None: gpu_seconds(request.config.max_new_tokens))
def stream(preset: str, request: Request, stop: threading.Event | None = None) -> Iterator[RaceSnapshot]:
    """Both runs, interleaved by compute clock (race.py); a snapshot after every step.

    Once stop is set no further step starts (a person pressed Stop), so computation ends within one step. Out of
    device memory becomes a UserInputError, with the memory released, and the app keeps serving.
    """
    run = object()  # this run's token: a generator may be resumed and closed on other threads than it started on
    _runs_in_progress.add(run)
    try:
        yield from _race_until_stopped(preset, request, stop)
    except torch.OutOfMemoryError:
        pass  # raised below, outside this block: the block's traceback holds the failed run's tensors
    else:
        return
    finally:
        _runs_in_progress.discard(run)
    raise out_of_memory_error()


def runs_in_progress() -> int:
    """Runs whose stream has started and not yet ended (finished, stopped, cancelled or failed)."""
    return len(_runs_in_progress)


def _race_until_stopped(preset: str, request: Request, stop: threading.Event | None) -> Iterator[RaceSnapshot]:
    lineup = lineup_for(preset)
    drafter = lineup.drafter(request.drafter)
    _warm_up(lineup, request)
    target_steps = target_only(lineup.target, request.question, request.media, request.config)
    speculative_steps = speculative(lineup.target, request.question, request.media, drafter, request.config)
    snapshots = race(target_steps, speculative_steps)
    for snapshot in snapshots:
        yield snapshot
        if stop is not None and stop.is_set():
            snapshots.close()  # closes both engine generators now, not whenever they are collected
            return


def api_result(snapshot: RaceSnapshot, preset: str, request: Request) -> dict:
    """The /compare endpoint's output: the texts so far while running; at the end the CLI's JSON (speedup ...)."""
    target = lineup_for(preset).target
    comparison = snapshot.comparison()
    if not snapshot.finished:
        return {"finished": False, **{name: {"text": target.decode(stats.token_ids), "tokens": len(stats.token_ids)}
                                      for name, stats in (("target", comparison.target), ("speculative", comparison.speculative))}}
    result = comparison_json(comparison, target, request.drafter, request.config.sampling.greedy)
    config = request.config
    tree = {"top_k": config.tree.top_k, "depth": config.tree.depth, "nodes": config.tree.nodes} if config.tree else None
    settings = {"preset": preset, "gamma": config.gamma, "temperature": config.sampling.temperature,
                "max_new_tokens": config.max_new_tokens, "seed": config.sampling.seed, "tree": tree,
                "dynamic_threshold": config.dynamic_threshold}
    return {"finished": True, **result, **settings, "timing": TIMING_NOTE}


_runs_in_progress: set[object] = set()  # one token a run, from its first step to its end
_warmed: set[tuple[int, str]] = set()


def _warm_up(lineup: Lineup, request: Request) -> None:
    """One short untimed run of each kind per model pair, so first-call costs never land in a timed run."""
    key = (id(lineup), request.drafter)
    if key in _warmed:
        return
    config = replace(request.config, max_new_tokens=min(request.config.gamma + 2, request.config.max_new_tokens))
    for _ in target_only(lineup.target, request.question, request.media, config):
        pass
    for _ in speculative(lineup.target, request.question, request.media, lineup.drafter(request.drafter), config):
        pass
    _warmed.add(key)


def _number(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"{name} must be a number, got {value!r}.") from None


def _flag(name: str, value) -> bool:
    if isinstance(value, bool) or value in (0, 1):
        return bool(value)
    raise UserInputError(f"{name} must be true or false, got {value!r}.")


def _whole(name: str, value) -> int:
    number = _number(name, value)
    if not number.is_integer():
        raise UserInputError(f"{name} must be a whole number, got {value!r}.")
    return int(number)
