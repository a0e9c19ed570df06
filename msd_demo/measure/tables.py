"""Bench JSON -> the tables people read: plain text for the terminal, markdown for the README.

The README's benchmark tables are this module's markdown of a committed bench JSON (`python -m msd_demo report
docs/bench/tiny.json --markdown`), and tests/test_readme_figures.py regenerates them, so they cannot go stale.
"""

import json
import re
from pathlib import Path

from msd_demo.errors import UserInputError

MEDIA_NAMES = {"image": "images", "video": "videos"}
# A generated table in a markdown file: the JSON it is made from, the table, the end marker.
MARKED_TABLE = re.compile(r"(?P<start><!-- table from (?P<paths>[^>]+?) -->\n)(?P<table>.*?)(?P<end><!-- end of table -->)", re.DOTALL)


def refresh_marked_tables(text: str, root: Path) -> str:
    """Every marked table regenerated from its JSON (paths relative to root); the rest of the text as it was."""
    def regenerated(match: re.Match) -> str:
        results = [read_bench(root / path) for path in match["paths"].split()]
        return match["start"] + markdown_report(results) + "\n" + match["end"]

    return MARKED_TABLE.sub(regenerated, text)


def read_bench(path: str | Path) -> dict:
    path = Path(path)
    try:
        result = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserInputError(f"{path}: no such file; give the JSON that `python -m msd_demo bench --json` wrote.") from None
    except json.JSONDecodeError as error:
        raise UserInputError(f"{path}: not JSON ({error.msg} at line {error.lineno}).") from None
    if not isinstance(result, dict) or not {"settings", "baseline", "drafters"} <= set(result):
        raise UserInputError(f"{path}: not a bench result (expected the keys settings, baseline and drafters).")
    return result


def markdown_report(results: list[dict]) -> str:
    """One bench: how it was made, the overall table and the images/videos table. Several (e.g. gamma 4, 8
    and 12): how each was made, and one table of speedup (tau) per drafter, a column per bench."""
    if len(results) == 1:
        return "\n\n".join([_provenance(results[0]), _overall_markdown(results[0]), _by_media_markdown(results[0])]) + "\n"
    table = _columns_markdown(results) if _only_gamma_differs(results) else _shapes_markdown(results)
    return "\n\n".join(["\n".join(f"- {_provenance(result)}" for result in results), table]) + "\n"


def text_reports(results: list[dict]) -> str:
    return "\n\n".join(text_report(result) for result in results)


def _provenance(result: dict) -> str:
    settings, baseline = result["settings"], result["baseline"]
    command = settings.get("command", "python -m msd_demo bench ...")
    machine = settings.get("machine", settings["device"])
    if "load_average_15_minutes" in settings:  # above the core count: other work was sharing the machine
        machine += f" under a load average of {settings['load_average_15_minutes']:.1f} over the run's last 15 minutes"
    return (
        f"Made by `{command}` on {machine}, {settings['dtype']}: preset `{settings['preset']}`, {settings['rows']} rows, "
        f"{settings['repeats']} repeat(s), {draft_shape(settings)}, at most {settings['max_new_tokens']} new tokens, "
        f"temperature {settings['temperature']:g}. Baseline: our target-only loop {baseline['tokens_per_second']:.0f} tokens/s, "
        f"transformers `generate()` {baseline['hf_generate_tokens_per_second']:.0f} tokens/s."
    )


def _overall_markdown(result: dict) -> str:
    header = ("| drafter | speedup | compute speedup | theoretical | tau | alpha | alpha, visual words | alpha, other words "
              "| draft ms / token | transformers assisted | identical |")
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for name, d in result["drafters"].items():
        hf = f"{d['hf_assisted_speedup']:.2f}x" if "hf_assisted_speedup" in d else "-"
        cells = [f"`{name}`", _speedup_with_spread(d), f"{d['compute_speedup']:.2f}x", f"{d['theoretical_speedup']:.2f}x",
                 f"{d['mean_accepted_tokens']:.2f}", f"{d['acceptance_rate']:.2f}", _optional(d.get("acceptance_rate_visual_words")),
                 _optional(d.get("acceptance_rate_other_words")), f"{d['draft_seconds_per_drafted_token'] * 1000:.2f}", hf,
                 _identical(d)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _columns_markdown(results: list[dict]) -> str:
    """speedup (tau) of each drafter in each bench, drafters in the first bench's order."""
    titles = [f"gamma {r['settings']['gamma']}: speedup (tau)" for r in results]
    lines = ["| drafter | " + " | ".join(titles) + " |", "|---|" + "---|" * len(results)]
    for name in results[0]["drafters"]:
        cells = [_speedup_and_tau(r["drafters"].get(name)) for r in results]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draft_shape(settings: dict) -> str:
    """How a bench drafted: a chain of gamma, a dynamic chain, or an EAGLE-2 tree (top-k, depth, nodes)."""
    tree, threshold = settings.get("tree"), settings.get("dynamic_threshold") or 0.0
    if tree:
        shape = f"tree: top-k {tree['top_k']}, depth {tree['depth']}, {tree['nodes']} nodes"
    else:
        shape = f"chain, gamma {settings['gamma']}"
    return shape + (f", stop below cumulative q {threshold:g}" if threshold else "")


def _only_gamma_differs(results: list[dict]) -> bool:
    return all(not r["settings"].get("tree") and not r["settings"].get("dynamic_threshold") for r in results)


def _shapes_markdown(results: list[dict]) -> str:
    """One row per drafter and draft shape: what the shape costs the target (nodes and verify ms per step)
    against what it buys (tau) and the end-to-end speedup."""
    header = "| drafter | draft shape | nodes / step | draft ms / step | verify ms / step | tau | alpha | speedup | identical |"
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for name in results[0]["drafters"]:
        for result in results:
            d = result["drafters"].get(name)
            if d is None:
                continue
            cells = [f"`{name}`", draft_shape(result["settings"]), _optional(d.get("nodes_per_step")),
                     f"{d['draft_seconds_per_step'] * 1000:.1f}", f"{d['verify_seconds_per_step'] * 1000:.1f}",
                     f"{d['mean_accepted_tokens']:.2f}", f"{d['acceptance_rate']:.2f}", _speedup_with_spread(d), _identical(d)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _speedup_and_tau(d: dict | None) -> str:
    return "-" if d is None else f"{d['speedup']:.2f}x ({d['mean_accepted_tokens']:.2f})"


def _by_media_markdown(result: dict) -> str:
    header = ("| drafter | rows | speedup | slowest row | compute speedup | tau | alpha | draft ms / step | verify ms / step "
              "| tokens / head pass |")
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for name, d in result["drafters"].items():
        for kind, m in d["by_media"].items():
            slowest = m.get("slowest_row_speedup")  # absent from benches made before it was recorded
            cells = [f"`{name}`", MEDIA_NAMES.get(kind, kind), f"{m['speedup']:.2f}x", "-" if slowest is None else f"{slowest:.2f}x",
                     f"{m['compute_speedup']:.2f}x",
                     f"{m['mean_accepted_tokens']:.2f}", f"{m['acceptance_rate']:.2f}", f"{m['draft_seconds_per_step'] * 1000:.2f}",
                     f"{m['verify_seconds_per_step'] * 1000:.2f}", _optional(m.get("tokens_per_pass"))]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def text_report(result: dict) -> str:
    """The terminal's table: one line per drafter."""
    baseline = result["baseline"]
    lines = [
        f"baseline: ours {baseline['tokens_per_second']:.1f} tokens/s, "
        f"transformers generate() {baseline['hf_generate_tokens_per_second']:.1f} tokens/s",
        f"{'drafter':<26}{'speedup':>9}{'repeats':>12}{'compute':>9}{'theory':>8}{'tau':>7}{'alpha':>7}{'visual':>8}"
        f"{'other':>7}{'draft ms/tok':>13}{'tok/pass':>9}{'hf assisted':>13}  identical",
    ]
    for name, d in result["drafters"].items():
        hf = f"{d['hf_assisted_speedup']:.2f}x" if "hf_assisted_speedup" in d else "-"
        spread = f"{min(d['speedup_by_repeat']):.2f}-{max(d['speedup_by_repeat']):.2f}x"
        lines.append(
            f"{name:<26}{d['speedup']:>8.2f}x{spread:>12}{d['compute_speedup']:>8.2f}x{d['theoretical_speedup']:>7.2f}x"
            f"{d['mean_accepted_tokens']:>7.2f}{d['acceptance_rate']:>7.2f}{_optional(d.get('acceptance_rate_visual_words')):>8}"
            f"{_optional(d.get('acceptance_rate_other_words')):>7}{d['draft_seconds_per_drafted_token'] * 1000:>13.2f}"
            f"{_optional(d.get('tokens_per_pass')):>9}{hf:>13}  {d['identical']}"
        )
    return "\n".join(lines)


def _speedup_with_spread(d: dict) -> str:
    by_repeat = d.get("speedup_by_repeat", [])
    spread = f" ({min(by_repeat):.2f}-{max(by_repeat):.2f})" if len(by_repeat) > 1 else ""
    return f"{d['speedup']:.2f}x{spread}"


def _identical(d: dict) -> str:
    if d["identical"] is None:
        return "- (sampled)"
    return "yes" if d["identical"] else f"{d['identical_runs']} of {d['runs']}"


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
