"""python -m msd_demo bench: the suite read, the drafters checked, the benchmark run and written."""

import json
import sys
from pathlib import Path

from msd_demo.cli.arguments import decode_config
from msd_demo.errors import UserInputError
from msd_demo.measure.bench import DEFAULT_SUITE, read_suite, run_bench, summary_table
from msd_demo.presets.catalog import get_preset
from msd_demo.presets.lineup import load_lineup


def bench_command(args) -> int:
    preset = get_preset(args.preset, args.models_dir)
    names = preset.drafters if args.drafters == "all" else [n.strip() for n in args.drafters.split(",")]
    config = decode_config(args, _paper_tree(preset, names))
    rows = read_suite(args.suite or DEFAULT_SUITE, preset.video_frames)
    lineup = load_lineup(args.preset, args.models_dir, args.dtype)
    for name in names:
        lineup.drafter(name)  # unknown names are refused before any timing starts
    if args.repeats < 1:
        raise UserInputError(f"--repeats must be at least 1, got {args.repeats}.")
    result = run_bench(lineup, rows, names, config, args.repeats, config.gamma)
    Path(args.json).write_text(json.dumps(result, indent=2))
    print(summary_table(result), file=sys.stderr)
    return 0


def _paper_tree(preset, names: list[str]) -> tuple[int, int, int] | None:
    """One tree is benchmarked for all drafters: the papers' where the drafters named share one."""
    trees = {preset.tree_defaults.get(name) for name in names}
    return trees.pop() if len(trees) == 1 else None
