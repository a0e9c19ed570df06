"""python -m msd_demo run | bench | report | presets (the contract is in the README; the map in docs/architecture.md)."""

import json
import os
import sys

import torch

from msd_demo.cli.arguments import build_parser
from msd_demo.cli.bench import bench_command, report_command
from msd_demo.cli.run import run_command
from msd_demo.errors import UserInputError, without_secrets
from msd_demo.faults import out_of_memory_error
from msd_demo.presets.catalog import PRESETS
from msd_demo.startup import read_environment, set_torch_threads


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # argparse has printed its one line (or the help)
        return int(exit_request.code or 0)
    try:
        startup = read_environment()  # limits; MSD_TORCH_THREADS, e.g. 1 on a machine shared with other work
        set_torch_threads(startup.torch_threads)
        if hasattr(args, "models_dir"):
            args.models_dir = args.models_dir or startup.models_dir
        return _command(args, sys.argv[1:] if argv is None else list(argv))
    except UserInputError as error:
        print(f"error: {without_secrets(str(error))}", file=sys.stderr)
        return 2
    except torch.OutOfMemoryError:
        pass  # reported below, outside this block: its traceback holds the failed run's tensors
    except Exception as error:  # a bug, not bad input: still one line, the traceback on request
        if os.environ.get("MSD_DEBUG"):
            raise
        message = without_secrets(str(error).splitlines()[0] if str(error) else "")
        print(f"error: internal {type(error).__name__}: {message} (set MSD_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    print(f"error: {out_of_memory_error()}", file=sys.stderr)
    return 1


def _command(args, argv: list[str]) -> int:
    if args.command == "run":
        return run_command(args)
    if args.command == "bench":
        return bench_command(args, argv)
    if args.command == "report":
        return report_command(args)
    return presets_command(args.json)


def presets_command(as_json: bool = False) -> int:
    if as_json:  # {preset: {"target": id, "drafters": {name: source}}}; prompt-lookup's source is null
        print(json.dumps({name: {"target": preset.target,
                                 "drafters": {drafter: preset.draft_models.get(drafter) for drafter in preset.drafters}}
                          for name, preset in PRESETS.items()}))
        return 0
    for preset in PRESETS.values():
        print(json.dumps({"name": preset.name, "target": preset.target, "drafters": preset.drafters,
                          "draft_models": preset.draft_models, "size": preset.size,
                          "hardware": preset.hardware, "description": preset.description}))
    return 0
