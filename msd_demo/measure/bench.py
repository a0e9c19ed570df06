"""python -m msd_demo bench: every drafter on the same suite rows, against our target-only loop and transformers.

All runs are sequential (never overlapping), after one untimed warm-up of each; times are end-to-end
wall-clock with the device synchronised, building the prompt and the prefill included (in transformers'
generate() too). Each drafter is compared with a fresh target-only run made just before its own, in an order
that rotates every row, so drift on a shared machine falls on both sides of a ratio and on no drafter in
particular. `speedup` is wall-clock, `compute_speedup` the ratio of the compute clocks (metrics.py).
"""

import gc
import json
import statistics
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from msd_demo.errors import UserInputError
from msd_demo.inputs.media import Media, load_media
from msd_demo.measure.hf_reference import hf_assisted, hf_generate
from msd_demo.measure.metrics import Comparison, RunStats, acceptance_by_word_class, stats_from_steps
from msd_demo.measure.side_by_side import Request, run_speculative, run_target_only
from msd_demo.presets.lineup import Lineup

DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "assets" / "suite.jsonl"


@dataclass(frozen=True)
class SuiteRow:
    name: str
    media: Media
    prompt: str


def read_suite(path: str | Path, video_frames: int) -> list[SuiteRow]:
    """Rows {"image"|"video": path relative to the suite file, "prompt": text}; other keys are ignored."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: no such suite file.")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            media_path = row.get("image") or row["video"]
            rows.append(SuiteRow(media_path, load_media(path.parent / media_path, video_frames), row["prompt"]))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise UserInputError(f"{path}:{number}: expected {{'image' or 'video': path, 'prompt': text}}.") from None
    if not rows:
        raise UserInputError(f"{path}: the suite has no rows.")
    return rows


@dataclass
class DrafterRecord:
    comparisons: list[Comparison] = field(default_factory=list)
    media_kinds: list[str] = field(default_factory=list)  # "image" or "video", one per comparison
    repeat_indices: list[int] = field(default_factory=list)  # which pass over the suite, one per comparison
    row_names: list[str] = field(default_factory=list)  # the suite row's media file, one per comparison
    hf_assisted_speedups: list[float] = field(default_factory=list)
    identical_to_hf: list[bool] = field(default_factory=list)
    hf_assisted_unavailable: str | None = None


def run_bench(lineup: Lineup, rows: list[SuiteRow], names: list[str], config, repeats: int, gamma: int) -> dict:
    _warm_up(lineup, rows[0], names, config)
    baseline: list[RunStats] = []
    hf_seconds, hf_tokens = [], []
    records = {name: DrafterRecord() for name in names}
    progress = tqdm(total=len(rows) * repeats * (2 * len(names) + 1), desc="bench", unit="run", file=sys.stderr)
    for turn, (row, repeat) in enumerate((row, repeat) for row in rows for repeat in range(repeats)):
        with _without_collection_pauses():
            tokens, seconds = hf_generate(lineup.target, row.prompt, row.media, config.max_new_tokens)
        hf_seconds.append(seconds)
        hf_tokens.append(len(tokens))
        progress.update()
        # Drift on a shared machine (other work starting or stopping) must not favour whichever drafter runs
        # first: the order rotates every row, and each drafter's run is timed against a fresh target-only run
        # made just before it, so the two sides of every ratio are seconds apart.
        for name in _rotated(names, turn):
            request = Request(row.prompt, row.media, name, config)
            with _without_collection_pauses():
                reference = run_target_only(lineup, request)
            baseline.append(reference)
            records[name].media_kinds.append(row.media.kind)
            records[name].repeat_indices.append(repeat)
            records[name].row_names.append(row.name)
            _bench_drafter(lineup, records[name], request, reference, gamma)
            progress.update(2)
    progress.close()
    return {
        "settings": _settings(lineup, len(rows), repeats, gamma, config),
        "baseline": {
            "tokens_per_second": _tokens_per_second(baseline),
            "hf_generate_tokens_per_second": sum(hf_tokens) / sum(hf_seconds),
        },
        "drafters": {
            name: _drafter_summary(record, config.sampling.greedy, lineup.preset.visual_words())
            for name, record in records.items()
        },
    }


def _settings(lineup: Lineup, rows: int, repeats: int, gamma: int, config) -> dict:
    return {"preset": lineup.preset.name, "rows": rows, "repeats": repeats, "gamma": gamma,
            "max_new_tokens": config.max_new_tokens, "temperature": config.sampling.temperature,
            "device": str(lineup.target.device), "dtype": str(lineup.target.model.dtype).removeprefix("torch."),
            "speedup_baseline": "our target-only loop, a fresh run just before each drafter's run",
            "drafter_order": "rotated by one every row",
            "tree": asdict(config.tree) if config.tree else None, "dynamic_threshold": config.dynamic_threshold}


@contextmanager
def _without_collection_pauses():
    """A timed run does not pay for collecting earlier runs' garbage. A bench allocates the same way every time,
    so Python's full collection (about 200 ms here) fell on the same run of every bench: one drafter's run of
    one row, which read 0.77x in sessions 34 and 35 where the drafter's other rows read 1.7-2.3x."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _rotated(names: list[str], turn: int) -> list[str]:
    shift = turn % len(names)
    return names[shift:] + names[:shift]


def _bench_drafter(lineup: Lineup, record: DrafterRecord, request: Request, reference: RunStats, gamma: int) -> None:
    with _without_collection_pauses():
        comparison = Comparison(reference, run_speculative(lineup, request))
    record.comparisons.append(comparison)
    draft = _hf_assistant(lineup, request.drafter)
    if draft is False or not request.config.sampling.greedy or record.hf_assisted_unavailable:
        return
    try:
        with _without_collection_pauses():
            tokens, seconds = hf_assisted(lineup.target, request.question, request.media, request.config.max_new_tokens, gamma, draft)
    except ValueError as error:  # e.g. vocabularies that differ by padding: transformers refuses the pair
        record.hf_assisted_unavailable = str(error).splitlines()[0]
        return
    record.hf_assisted_speedups.append(reference.total_seconds / seconds)
    record.identical_to_hf.append(tokens == reference.token_ids)


def _hf_assistant(lineup: Lineup, name: str):
    """The draft transformers' assisted generation can run for this drafter: a model, None (prompt lookup),
    or False when it cannot run the same pair (a text-only draft needs its own prompt, without the image)."""
    if name == "model":
        return lineup.draft_model(name)
    return None if name == "prompt-lookup" else False


def _warm_up(lineup: Lineup, row: SuiteRow, names: list[str], config) -> None:
    short = replace(config, max_new_tokens=min(8, config.max_new_tokens))
    run_target_only(lineup, Request(row.prompt, row.media, config=short))
    hf_generate(lineup.target, row.prompt, row.media, short.max_new_tokens)
    for name in names:
        run_speculative(lineup, Request(row.prompt, row.media, name, short))


def _drafter_summary(record: DrafterRecord, greedy: bool, visual_words: frozenset[str]) -> dict:
    summary = _comparisons_summary(record.comparisons, greedy)
    runs = [comparison.speculative for comparison in record.comparisons]
    steps = [step for run in runs for step in run.steps]
    if visual_words:
        by_class = acceptance_by_word_class(steps, visual_words)
        summary["acceptance_rate_visual_words"] = by_class["visual"]
        summary["acceptance_rate_other_words"] = by_class["other"]
    if record.hf_assisted_speedups:
        summary["hf_assisted_speedup"] = statistics.median(record.hf_assisted_speedups)
        summary["hf_assisted_identical"] = all(record.identical_to_hf)
    if record.hf_assisted_unavailable:
        summary["hf_assisted_unavailable"] = record.hf_assisted_unavailable
    # The median speedup of each pass over the whole suite: their spread is the run-to-run noise, the margin by
    # which one drafter must lead another before "faster" means anything.
    summary["speedup_by_repeat"] = [
        statistics.median(c.speedup for c in group) for group in _grouped(record.comparisons, record.repeat_indices).values()
    ]
    summary["by_media"] = {
        kind: _comparisons_summary(group, greedy) for kind, group in _grouped(record.comparisons, record.media_kinds).items()
    }
    summary["rows"] = [_row_summary(*row) for row in zip(record.row_names, record.media_kinds, record.repeat_indices, record.comparisons)]
    return summary


def _row_summary(name: str, media_kind: str, repeat: int, comparison: Comparison) -> dict:
    """One suite row's run: a median over rows can hide a row where drafting loses."""
    run = stats_from_steps(comparison.speculative.steps)
    return {"row": name, "media": media_kind, "repeat": repeat, "speedup": comparison.speedup, "tau": run.tau,
            "new_tokens": len(comparison.speculative.token_ids), "identical": comparison.identical}


def _grouped(comparisons: list[Comparison], labels: list) -> dict:
    """The comparisons by their label (media kind, pass over the suite), labels in sorted order."""
    groups: dict = {}
    for comparison, label in zip(comparisons, labels):
        groups.setdefault(label, []).append(comparison)
    return dict(sorted(groups.items()))


def _comparisons_summary(comparisons: list[Comparison], greedy: bool) -> dict:
    runs = [comparison.speculative for comparison in comparisons]
    steps = [step for run in runs for step in run.steps]
    pooled = stats_from_steps(steps)  # every row's decode steps together: tau and alpha defined once, in metrics
    drafted = sum(len(step.drafted) for step in steps)
    return {
        "speedup": statistics.median(c.speedup for c in comparisons),  # wall-clock, end to end
        "slowest_row_speedup": min(c.speedup for c in comparisons),
        "compute_speedup": statistics.median(c.compute_speedup for c in comparisons),  # prefill + draft + verify clocks
        "theoretical_speedup": statistics.median(c.theoretical_speedup for c in comparisons),
        "mean_accepted_tokens": pooled.tau,
        "acceptance_rate": pooled.alpha,  # accepted / judged positions
        "draft_acceptance": pooled.draft_acceptance,  # accepted / drafted: not alpha
        "identical": all(c.identical for c in comparisons) if greedy else None,
        "identical_runs": sum(c.identical for c in comparisons) if greedy else None,  # of "runs"
        "runs": len(comparisons),
        "first_differences": [c.first_difference for c in comparisons if not c.identical] if greedy else None,
        "tokens_per_second": _tokens_per_second(runs),
        "draft_seconds_per_step": statistics.mean(step.draft_seconds for step in steps),
        "draft_seconds_per_drafted_token": sum(step.draft_seconds for step in steps) / drafted if drafted else 0.0,
        "verify_seconds_per_step": statistics.mean(step.verify_seconds for step in steps),
        "verify_ms_per_step": statistics.mean(step.verify_seconds for step in steps) * 1000,
        "nodes_per_step": drafted / len(steps),  # drafted nodes (a chain's tokens) per step
        **_passes_summary(steps),
    }


def _passes_summary(steps: list) -> dict:
    """Drafted tokens per forward pass of the drafter, where it counts its passes (head drafters do)."""
    counted = [step for step in steps if step.draft_passes and step.drafted]  # not a last step with no room to draft
    if not counted:
        return {}
    passes = sum(step.draft_passes for step in counted)
    return {"draft_passes_per_step": passes / len(counted), "tokens_per_pass": sum(len(step.drafted) for step in counted) / passes}


def _tokens_per_second(runs: list[RunStats]) -> float:
    return sum(len(run.token_ids) for run in runs) / sum(run.total_seconds for run in runs)
