"""The comparison's views for one snapshot, live or replayed: the two panels, the stats, the latest step's draft
tree and the four figures. Pure: no gradio."""

from msd_demo.ui import plots
from msd_demo.ui.race import RaceSnapshot
from msd_demo.ui.render import speculative_panel_html, target_panel_html
from msd_demo.ui.replay import Recording
from msd_demo.ui.summary import stats_html
from msd_demo.ui.tree_view import latest_tree_html


def panels(snapshot: RaceSnapshot, recording: Recording, note: str | None = None) -> tuple[str, str, str, str]:
    """Target panel, speculative panel, stats, the latest step's tree. recording: the run's settings (gamma,
    greedy, precision, EOS ids)."""
    stats = stats_html(snapshot.comparison(), recording.greedy, snapshot.finished, recording.precision, note)
    return (target_panel_html(snapshot.target, recording.eos_ids),
            speculative_panel_html(snapshot.speculative, recording.eos_ids), stats,
            latest_tree_html(snapshot.speculative, recording.eos_ids))


def figures(snapshot: RaceSnapshot, gamma: int) -> tuple:
    """Accepted per step, latency per step, the race, expected speedup vs gamma."""
    comparison = snapshot.comparison()
    return (plots.acceptance_figure(comparison, gamma), plots.latency_figure(comparison),
            plots.race_figure(comparison), plots.expected_speedup_figure(comparison, gamma))
