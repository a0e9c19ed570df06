"""python -m msd_demo bench: the suite read, the drafters checked, the benchmark run and written; and report."""

import json
import os
import shlex
import sys
from pathlib import Path

import torch

from msd_demo.cli.arguments import decode_config
from msd_demo.errors import UserInputError
from msd_demo.measure.bench import DEFAULT_SUITE, read_suite, run_bench
from msd_demo.measure.tables import markdown_report, read_bench, refresh_marked_tables, text_report, text_reports
from msd_demo.presets.catalog import get_preset
from msd_demo.presets.lineup import load_lineup


def bench_command(args, argv: list[str]) -> int:
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
    # How the figures were made travels with them: the README's tables print it (measure/tables.py).
    result["settings"] |= {"command": _command_line(argv), "machine": _machine(lineup.target.device)}
    if hasattr(os, "getloadavg"):  # how busy the machine was over the last 15 minutes: other work shares it
        result["settings"]["load_average_15_minutes"] = round(os.getloadavg()[2], 2)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(text_report(result), file=sys.stderr)
    return 0


def report_command(args) -> int:
    if args.update:  # paths in the markers are relative to the file's folder
        readme = Path(args.update)
        readme.write_text(refresh_marked_tables(readme.read_text(), readme.resolve().parent))
        return 0
    if not args.bench_json:
        raise UserInputError("give one or more bench JSON files (or --update FILE.md).")
    results = [read_bench(path) for path in args.bench_json]
    print(markdown_report(results) if args.markdown else text_reports(results), end="" if args.markdown else "\n")
    return 0


def _command_line(argv: list[str]) -> str:
    threads = os.environ.get("MSD_TORCH_THREADS")
    return (f"MSD_TORCH_THREADS={threads} " if threads else "") + "python -m msd_demo " + shlex.join(argv)


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    return f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s))"


def _paper_tree(preset, names: list[str]) -> tuple[int, int, int] | None:
    """One tree is benchmarked for all drafters: the papers' where the drafters named share one."""
    trees = {preset.tree_defaults.get(name) for name in names}
    return trees.pop() if len(trees) == 1 else None
