"""The CLI's arguments: one parser for run, bench, report and presets, and the decode settings they give."""

import argparse

from msd_demo.engine import DecodeConfig, SamplingConfig
from msd_demo.engine.tree import TreeConfig


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
    report = commands.add_parser("report", help="print a bench JSON's tables (--markdown: as in the README)")
    report.add_argument("bench_json", metavar="BENCH.json", nargs="*",
                        help="what `bench --json` wrote; several (e.g. one per gamma): one table of speedup (tau) per bench")
    report.add_argument("--markdown", action="store_true", help="markdown tables, as the README's")
    report.add_argument("--update", metavar="FILE.md", help="regenerate every '<!-- table from ... -->' table in FILE.md")
    presets = commands.add_parser("presets", help="list the model presets")
    presets.add_argument("--json", action="store_true", help="one JSON object: each preset's target and drafters' sources")
    return parser


def _add_decoding_arguments(parser):
    parser.add_argument("--preset", default="tiny", help="tiny (default) or a hub preset: see `presets`")
    parser.add_argument("--dtype", default="auto", help="auto (bfloat16 on a GPU, float32 on the CPU), float32, bfloat16, float16")
    parser.add_argument("--models-dir", default=None, help="a folder laid out like models/ (overrides the tiny preset's)")
    parser.add_argument("--gamma", type=int, default=None, help="draft length (default 4)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="default: run, the preset's (tiny 320: its grounded answers are long; hub presets 128); bench 128")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tree", action="store_true", help="draft EAGLE-2 trees instead of chains of gamma tokens")
    # Without any of these, --tree drafts the drafter's paper's tree where the preset names one (the released
    # heads), else TreeConfig's; with some, the others are TreeConfig's.
    parser.add_argument("--tree-top-k", type=int, default=None,
                        help=f"children per expanded node (with --tree; default {TreeConfig.top_k})")
    parser.add_argument("--tree-depth", type=int, default=None, help=f"tree depth (with --tree; default {TreeConfig.depth})")
    parser.add_argument("--tree-nodes", type=int, default=None, help=f"node budget (with --tree; default {TreeConfig.nodes})")
    parser.add_argument("--dynamic-threshold", type=float, default=0.0,
                        help="stop a draft once its best path's cumulative q falls below this (0: never)")


def decode_config(args, paper_tree: tuple[int, int, int] | None = None, max_new_tokens: int | None = None) -> DecodeConfig:
    """paper_tree: (top_k, depth, nodes) the drafter's paper drafts, used when --tree comes without a shape;
    max_new_tokens: the cap when --max-new-tokens is not given (None: DecodeConfig's)."""
    sampling = SamplingConfig(temperature=args.temperature, top_p=args.top_p, seed=args.seed)
    tree = tree_config(args, paper_tree) if args.tree else None
    given = {"max_new_tokens": args.max_new_tokens if args.max_new_tokens is not None else max_new_tokens, "gamma": args.gamma}
    return DecodeConfig(sampling=sampling, tree=tree, dynamic_threshold=args.dynamic_threshold,
                        **{name: value for name, value in given.items() if value is not None})


def tree_config(args, paper_tree: tuple[int, int, int] | None) -> TreeConfig:
    shape = (args.tree_top_k, args.tree_depth, args.tree_nodes)
    if shape == (None, None, None) and paper_tree is not None:
        return TreeConfig(*paper_tree)
    defaults = TreeConfig()
    return TreeConfig(*(given if given is not None else default
                        for given, default in zip(shape, (defaults.top_k, defaults.depth, defaults.nodes))))
