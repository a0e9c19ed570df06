"""The figures of one comparison as HTML (tokens/s, speedup, tau, alpha, identical?) and the cost ratio c.

Pure: RunStats in, HTML and numbers out. Times are the runs' compute clocks (see race.py), except the
wall-clock speedup, which is each run's own wall time.
"""

from html import escape

from msd_demo.measure.metrics import Comparison, RunStats

TIMING_NOTE = (
    "How timings were taken: each run's compute clock is the sum of its own measured prefill, draft and verify "
    "times (device synchronised). The two runs are interleaved in one thread, always advancing the one whose clock "
    "is behind, so they never compute at the same moment and UI work is never counted. compute speedup is the "
    "ratio of the compute clocks (what the race shows); speedup is wall-clock: the time spent in each run's own "
    "code, which adds building the prompt and the decoding loop's overhead. The first request per drafter is "
    "preceded by an untimed warm-up."
)


def stats_html(comparison: Comparison, greedy: bool, finished: bool, precision: str | None = None,
               note: str | None = None) -> str:
    """note: what is going on, in place of "running..." (a replay says where it stands)."""
    target, speculative = comparison.target, comparison.speculative
    rows = "".join(_row(name, stats) for name, stats in (("Target only", target), ("Speculative", speculative)))
    table = f"<table><tr><th>run</th><th>tokens</th><th>compute s</th><th>tokens/s (compute)</th></tr>{rows}</table>"
    badges = [
        _badge("compute speedup", f"{comparison.compute_speedup:.2f}×"),
        _badge("speedup (wall-clock)", f"{comparison.speedup:.2f}×"),
        _badge("tau (tokens per target pass)", f"{speculative.tau:.2f}"),
        _badge("alpha (accepted / judged)", f"{speculative.alpha:.2f}"),
        _badge("outputs", outputs_verdict(comparison, greedy, finished, precision)),
    ]
    note = note or ("" if finished else "running...")
    state = f'<span class="msd-note msd-progress">{escape(note)}</span>' if note else ""
    return (f'<div class="msd-stats" data-finished="{str(finished).lower()}">{table}<div class="msd-badges">{"".join(badges)}</div>{state}'
            f'<div class="msd-note">{escape(TIMING_NOTE)}</div></div>')


def outputs_verdict(comparison: Comparison, greedy: bool, finished: bool, precision: str | None = None) -> str:
    """Greedy decoding must give the same tokens; with sampling both are samples from p, so they may differ.

    precision: the dtype when below float32. Then the verify pass over gamma + 1 tokens and the one-token
    steps of target-only decoding round differently, and a near-tie between two tokens can flip: said so.
    """
    if not greedy:
        return "sampled (T > 0): may differ, both follow p"
    if not finished:
        verdict = "identical so far" if _same_prefix(comparison) else f"differs after token {_shared_length(comparison)}"
    else:
        difference = comparison.first_difference
        verdict = "identical" if difference is None else f"differs after token {difference}"
    if precision and verdict.startswith("differs"):
        return f"{verdict} ({precision}: rounding in the batched verify pass can flip a near-tie)"
    return f"{verdict} ({precision})" if precision else verdict


def cost_ratio(comparison: Comparison) -> float:
    """c = draft seconds per drafted token / target-only seconds per token (decode steps, prefill excluded)."""
    drafted = comparison.speculative.drafted
    target_steps = comparison.target.steps
    if not drafted or not target_steps:
        return 0.0
    draft_seconds = sum(step.draft_seconds for step in comparison.speculative.steps)
    target_seconds_per_token = sum(step.seconds for step in target_steps) / len(target_steps)
    return (draft_seconds / drafted) / target_seconds_per_token if target_seconds_per_token else 0.0


def error_html(message: str) -> str:
    return f'<div class="msd-error">⚠ {escape(message)}</div>'


def status_html(message: str) -> str:
    return f'<div class="msd-note msd-status">⏳ {escape(message)}</div>'


def _row(name: str, stats: RunStats) -> str:
    per_compute_second = len(stats.token_ids) / stats.compute_seconds if stats.compute_seconds else 0.0
    return (f"<tr><td>{name}</td><td>{len(stats.token_ids)}</td><td>{stats.compute_seconds:.3f}</td>"
            f"<td>{per_compute_second:.1f}</td></tr>")


def _badge(label: str, value: str) -> str:
    return f'<span class="msd-badge">{escape(label)}: <b>{escape(value)}</b></span>'


def _shared_length(comparison: Comparison) -> int:
    pairs = zip(comparison.target.token_ids, comparison.speculative.token_ids)
    return next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(comparison.target.token_ids),
                                                                       len(comparison.speculative.token_ids)))


def _same_prefix(comparison: Comparison) -> bool:
    shorter = min(len(comparison.target.token_ids), len(comparison.speculative.token_ids))
    return _shared_length(comparison) == shorter
