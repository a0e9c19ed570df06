"""Comparison -> plotly figures: acceptance per step, per-step latency, the race, expected speedup vs gamma.

Pure: statistics in, figures out. Times are the runs' compute clocks, in milliseconds.
"""

from itertools import accumulate

import plotly.graph_objects as go

from msd_demo.limits import LIMITS
from msd_demo.measure.metrics import Comparison, accepted_positions, expected_speedup, judged_positions
from msd_demo.ui.summary import cost_ratio

GREEN, RED, BLUE, GREY, ORANGE = "#2e9e44", "#d13b3b", "#2f5fd0", "#7a7a7a", "#e08a1e"


def acceptance_figure(comparison: Comparison, longest_draft: int) -> go.Figure:
    """Per step: drafts accepted, the one refused (judged), and those never judged (after the first refusal in a
    chain; a tree's other branches). longest_draft: gamma, or a tree's depth: the most a step can accept."""
    steps = comparison.speculative.steps
    numbers = list(range(1, len(steps) + 1))
    accepted = [accepted_positions(step) for step in steps]
    judged = [judged_positions(step) for step in steps]
    figure = go.Figure([
        go.Bar(x=numbers, y=accepted, name="accepted drafts", marker_color=GREEN),
        go.Bar(x=numbers, y=[j - a for j, a in zip(judged, accepted)], name="refused draft", marker_color=RED, opacity=0.6),
        go.Bar(x=numbers, y=[len(step.drafted) - j for step, j in zip(steps, judged)], name="never judged",
               marker_color=GREY, opacity=0.35),
    ])
    figure.add_hline(y=longest_draft, line_dash="dash", line_color=GREY, annotation_text=f"longest draft = {longest_draft}")
    figure.update_layout(barmode="stack")
    return _styled(figure, "Accepted drafts per step", "step (target forward pass)", "drafted tokens")


def latency_figure(comparison: Comparison) -> go.Figure:
    steps = comparison.speculative.steps
    numbers = list(range(1, len(steps) + 1))
    figure = go.Figure([
        go.Bar(x=numbers, y=[step.draft_seconds * 1e3 for step in steps], name="draft", marker_color=ORANGE),
        go.Bar(x=numbers, y=[step.verify_seconds * 1e3 for step in steps], name="verify", marker_color=BLUE),
    ])
    target_steps = comparison.target.steps
    if target_steps:
        per_token = sum(step.seconds for step in target_steps) / len(target_steps) * 1e3
        figure.add_hline(y=per_token, line_dash="dash", line_color=GREY,
                         annotation_text=f"target only: {per_token:.2f} ms / token")
    figure.update_layout(barmode="stack")
    return _styled(figure, "Per-step latency (speculative)", "step", "milliseconds")


def race_figure(comparison: Comparison) -> go.Figure:
    """Tokens emitted against each run's own compute clock: the steeper line is the faster run."""
    figure = go.Figure()
    for name, stats, colour in (("target only", comparison.target, GREY), ("speculative", comparison.speculative, GREEN)):
        clock = [stats.prefill_seconds * 1e3] + [stats.prefill_seconds * 1e3 + t * 1e3 for t in
                                                  accumulate(step.seconds for step in stats.steps)]
        first_tokens = len(stats.token_ids) - sum(len(step.emitted) for step in stats.steps)
        tokens = [first_tokens] + [first_tokens + n for n in accumulate(len(step.emitted) for step in stats.steps)]
        figure.add_trace(go.Scatter(x=clock, y=tokens, name=name, mode="lines+markers", marker_size=4,
                                    line=dict(color=colour, shape="hv")))
    return _styled(figure, "The race: tokens vs compute time", "compute milliseconds (prefill included)", "tokens")


def expected_speedup_figure(comparison: Comparison, gamma: int) -> go.Figure:
    """Leviathan et al. (2023): (1 - alpha^(gamma+1)) / ((1 - alpha)(gamma c + 1)) for the measured alpha and c.

    alpha is the run's accepted / judged positions (metrics.py), the per-position acceptance probability the
    formula assumes; accepted / drafted would count the drafts discarded after a rejection and bend the curve low.
    """
    alpha, c = comparison.speculative.alpha, cost_ratio(comparison)
    gammas = list(range(1, LIMITS.max_gamma + 1))
    figure = go.Figure(go.Scatter(x=gammas, y=[expected_speedup(alpha, g, c) for g in gammas], mode="lines+markers",
                                  name="expected", line_color=BLUE, marker_size=5))
    figure.add_trace(go.Scatter(x=[gamma], y=[expected_speedup(alpha, gamma, c)], mode="markers", name=f"chosen gamma = {gamma}",
                                marker=dict(size=13, color=ORANGE, symbol="diamond")))
    figure.add_hline(y=1.0, line_dash="dot", line_color=GREY)
    title = f"Expected speedup vs gamma (alpha = {alpha:.2f}, c = {c:.2f})"
    return _styled(figure, title, "gamma (draft length)", "expected speedup")


def _styled(figure: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    figure.update_layout(
        title=dict(text=title, font_size=14), xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
        height=320, margin=dict(l=50, r=20, t=50, b=45), legend=dict(orientation="h", y=-0.25), uirevision="keep",
    )
    return figure
