"""python -m msd_demo run | bench | presets (the contract is in DESIGN.md)."""

import argparse
import json
import os
import sys

import torch

from msd_demo.engine import DecodeConfig, SamplingConfig
from msd_demo.errors import UserInputError, without_secrets
from msd_demo.faults import out_of_memory_error


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m msd_demo", description="Speculative decoding on multimodal LLMs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    run = commands.add_parser("run", help="decode one image or video twice (target only, speculative) and compare")
    media = run.add_mutually_exclusive_group(required=True)
    media.add_argument("--image", help="path to an image")
    media.add_argument("--video", help="path to a video")
    run.add_argument("--prompt", required=True, help="the question")
    run.add_argument("--drafter", default="model", help="model, text-only, prompt-lookup, ...")
    _add_decoding_arguments(run)
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    bench = commands.add_parser("bench", help="benchmark drafters on a suite of images and videos")
    bench.add_argument("--drafters", default="all", help="'all' or a comma-separated list")
    bench.add_argument("--suite", default=None, help="JSONL rows {'image'|'video': path, 'prompt': text}")
    bench.add_argument("--repeats", type=int, default=3)
    _add_decoding_arguments(bench)
    bench.add_argument("--json", required=True, metavar="OUT", help="where to write the results")
    commands.add_parser("presets", help="list the model presets")
    return parser


def _add_decoding_arguments(parser):
    parser.add_argument("--preset", default="tiny", help="tiny (default) or a hub preset: see `presets`")
    parser.add_argument("--dtype", default="auto", help="auto (bfloat16 on a GPU, float32 on the CPU), float32, bfloat16, float16")
    parser.add_argument("--models-dir", default=None, help="a folder laid out like models/ (overrides the tiny preset's)")
    parser.add_argument("--gamma", type=int, default=DecodeConfig.gamma, help="draft length")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--max-new-tokens", type=int, default=DecodeConfig.max_new_tokens)
    parser.add_argument("--seed", type=int, default=0)


def decode_config(args) -> DecodeConfig:
    sampling = SamplingConfig(temperature=args.temperature, top_p=args.top_p, seed=args.seed)
    return DecodeConfig(max_new_tokens=args.max_new_tokens, gamma=args.gamma, sampling=sampling)


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # argparse has printed its one line (or the help)
        return int(exit_request.code or 0)
    if os.environ.get("MSD_TORCH_THREADS"):  # e.g. 1 on a machine shared with other work: no OpenMP stalls
        torch.set_num_threads(int(os.environ["MSD_TORCH_THREADS"]))
    try:
        return _command(args)
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


def _command(args) -> int:
    if args.command == "run":
        from msd_demo.cli_run import run_command

        return run_command(args)
    if args.command == "bench":
        from msd_demo.bench import bench_command

        return bench_command(args)
    return presets_command()


def presets_command() -> int:
    from msd_demo.presets import PRESETS

    for preset in PRESETS.values():
        print(json.dumps({"name": preset.name, "target": preset.target, "drafters": preset.drafters,
                          "draft_models": preset.draft_models, "size": preset.size,
                          "hardware": preset.hardware, "description": preset.description}))
    return 0
