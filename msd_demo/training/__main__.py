"""`python -m msd_demo.training`: rebuild the shipped models (tokenizer, target, drafts) and their model card."""

import argparse
import dataclasses
import json
import os
import shlex
import sys
import time
from pathlib import Path

import torch

from msd_demo.training import robustness, stages
from msd_demo.training.card import write_card
from msd_demo.training.evaluate import decode_times
from msd_demo.training.heads import RECIPES
from msd_demo.training.plan import FULL, QUICK, Plan, checkpoints
from msd_demo.training.vision_heads import VISION_RECIPES

STAGES = ("tokenizer", "target", "target-tune", "draft-vlm", "draft-text", "heads", "vision_heads", "eval")

# Run only when named, each followed by a `target-tune`: `target-tiles` rewrites the target as LLaVA-NeXT (tiles.py; an
# experiment of issue 21, session 32, not shipped: the shipped target reads squashed pictures); `tower-sharpen` trains
# the trained target's tower on the cell objective again (session 33; shipped in session 34).
OPTIONAL_STAGES = ("target-tiles", "tower-sharpen")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m msd_demo.training", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("models"), help="output folder (default: models)")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help=f"comma-separated subset of {','.join(STAGES)} (or {','.join(OPTIONAL_STAGES)}, run only when named)")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke build: a few steps, a few eval examples")
    parser.add_argument("--steps", type=int, help="train every stage (and phase) for this many steps")
    parser.add_argument("--heads", help="heads and vision_heads stages: a comma-separated subset of "
                        f"{','.join(r.name for r in RECIPES + VISION_RECIPES)} "
                        "(two processes can train different heads side by side)")
    parser.add_argument("--warm-start", type=Path, help="heads, vision_heads and draft-vlm stages: start each head (the "
                        "draft VLM's language model) from the one of its name in this folder (after a target-tune; use with --steps)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="torch CPU threads (default: all cores)")
    args = parser.parse_args(argv)
    args.stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(args.stages) - set(STAGES + OPTIONAL_STAGES))
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(unknown)}; allowed: {', '.join(STAGES + OPTIONAL_STAGES)}")
    names = [r.name for r in RECIPES + VISION_RECIPES]
    args.heads = [h.strip() for h in args.heads.split(",")] if args.heads else names
    if set(args.heads) - set(names):
        parser.error(f"unknown head(s) {', '.join(sorted(set(args.heads) - set(names)))}; allowed: {', '.join(names)}")
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    if args.steps is None:
        return plan
    schedules = {
        f.name: dataclasses.replace(getattr(plan, f.name), steps=args.steps, warmup=max(1, args.steps // 10))
        for f in dataclasses.fields(plan) if isinstance(getattr(plan, f.name), stages.Schedule)
    }
    # The heads' text stage too: a warm-started head (--warm-start) needs a fraction of each stage.
    return dataclasses.replace(plan, name=f"{plan.name}, {args.steps} steps", head_text_steps=args.steps, **schedules)


def run_eval(out: Path, plan: Plan, command: str) -> None:
    """The robustness eval (held-out phrasings x renderers x aspect ratios, off-topic) and decode times, into the card."""
    measured = robustness.measure(out / "target", plan.eval_examples, plan.off_topic_examples, max_new_tokens=plan.eval_max_new_tokens)
    decode_ms = decode_times(out)
    record = checkpoints(out, "eval") / "robustness.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({**measured, "decode_forward_ms": decode_ms}, indent=1) + "\n")
    print(robustness.table(measured))
    print(f"decode forward ms: {decode_ms}; answers and figures: {record}")
    print(f"model card: {write_card(out, plan, command, measured, decode_ms)}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # tiny late-training gradients otherwise hit slow denormal arithmetic
    plan = make_plan(args)
    command = "python -m msd_demo.training " + shlex.join(sys.argv[1:] if argv is None else argv)
    builders = {
        "tokenizer": lambda: stages.build_tokenizer_stage(args.out, plan),
        "target": lambda: stages.build_vlm_stage(args.out, plan, "target"),
        "target-tiles": lambda: stages.build_target_tiles_stage(args.out),
        "tower-sharpen": lambda: stages.build_tower_sharpen_stage(args.out, plan),
        "target-tune": lambda: stages.build_target_tune_stage(args.out, plan),
        "draft-vlm": lambda: stages.build_vlm_stage(args.out, plan, "draft-vlm", args.warm_start),
        "draft-text": lambda: stages.build_draft_text_stage(args.out, plan),
        "heads": lambda: stages.build_heads_stage(args.out, plan, args.heads, args.warm_start),
        "vision_heads": lambda: stages.build_vision_heads_stage(args.out, plan, args.heads, args.warm_start),
        "eval": lambda: run_eval(args.out, plan, command.strip()),
    }
    for stage in args.stages:
        cpu, wall = time.process_time(), time.time()
        builders[stage]()
        print(f"== {stage} done: {time.process_time() - cpu:.0f} s CPU, {time.time() - wall:.0f} s wall")


if __name__ == "__main__":
    main()
