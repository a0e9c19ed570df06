"""Honest measurement (issue 21): a VLM scored on what a visitor brings, not on the world's own templates.

Held-out phrasings x {training renderer, held-out renderer} x aspect ratios {1:1, 3:1, 1:3}, N examples per
kind and cell, on held-out scenes (shades and resolutions training never saw), greedy decoding; plus the
share of held-out off-topic requests answered with the fixed answer, and of questions about empty pictures (no shape
at all) answered exactly ("I see no shapes. ..."). Scoring reads the facts an answer
states (scoring.py), so the old answer forms (the shipped target's) and the grounded ones are scored alike.

Seeing and reading, for the kinds whose answer first lists what is seen ("I see ..."): how often the list is
right, and how often the answer is right when its list is, so a miss is told apart as one of seeing (the
picture) or of reading (its own list against the question); reading alone is measured twice more, with the true
list given: the checks beside its shapes decided right (all, and apart those whose true verdict is " yes"), and
the answer right when made to begin with the true list and its checks.

    OMP_NUM_THREADS=1 python -m msd_demo.training.robustness --model models/target --examples 20
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from msd_demo.training.data import VIDEO_FRAMES, list_end, media_batch
from msd_demo.training.evaluate import greedy_answers, load_vlm, task_prompts
from msd_demo.training.scoring import (
    SEEING_ERRORS,
    each_list_right,
    gives_off_topic_answer,
    is_right,
    listed_and_true,
    seeing_errors,
    sees_right,
    shape_confusions,
)
from msd_demo.world import IMAGE_KINDS, KINDS, Example
from msd_demo.world.grounded import CHECK, i_see
from msd_demo.world.robust import OFF_TOPIC, RENDERERS, ROBUST_KINDS, sample_robust_example
from msd_demo.world.variety import sample_varied_scene

ROBUSTNESS_SEED = 421_021  # never used to draw training data
ASPECTS: dict[str, float] = {"1:1": 1.0, "3:1": 3.0, "1:3": 1 / 3}
MAX_NEW_TOKENS = {  # each above the longest held-out answer of its kind (checks beside every listed shape included)
    "describe": 160, "count": 160, "colour": 160, "where": 144, "exists": 144,
    "describe_video": 272, "motion": 320, OFF_TOPIC: 48,
}
COPY_PROBE_LISTS = 32
_VERDICT = re.compile(r"\? (yes|no)\b")  # a check's verdict, after its question
EMPTY_PER_KIND = 20  # held-out questions about an empty picture, per image kind, measured with the off-topic requests
# The kinds whose answer writes several "I see ..." lists, each list's name: which one is seen wrong (session 43).
LIST_NAMES = {"motion": ("at the start", "at the end"), "describe_video": ("halfway", "at the end")}
CONCLUSION_TOKENS = 48  # what follows the last list: motion's "The <name> is at ... so it moves <way>." is the longest


def cell_tasks(rng: random.Random, kind: str, renderer: str, aspect: float, examples: int) -> list[Example]:
    return [sample_robust_example(rng, "heldout", kind, renderer, aspect, VIDEO_FRAMES) for _ in range(examples)]


MEDIA_CELLS = [(r, a) for r in RENDERERS for a in ASPECTS.values()]  # (renderer, aspect) of every cell, in order


def off_topic_tasks(rng: random.Random, examples: int) -> list[Example]:
    """Held-out off-topic requests over pictures and videos of every renderer and aspect ratio."""
    return [sample_robust_example(rng, "heldout", OFF_TOPIC, *MEDIA_CELLS[i % len(MEDIA_CELLS)], VIDEO_FRAMES)
            for i in range(examples)]


def empty_tasks(rng: random.Random, per_kind: int) -> list[Example]:
    """Held-out questions of every image kind about pictures that hold no shape, over renderers and aspect ratios."""
    return [sample_robust_example(rng, "heldout", kind, *MEDIA_CELLS[i % len(MEDIA_CELLS)], empty=True)
            for kind in IMAGE_KINDS for i in range(per_kind)]


def measure(folder: Path, examples: int, off_topic: int, batch_size: int = 16, max_new_tokens: int | None = None,
            kinds: tuple[str, ...] | None = None) -> dict:
    """{"cells": {kind: {renderer: {aspect: share right}}}, "off_topic": share, ...} with a few answers shown.

    max_new_tokens caps every kind's budget (a quick build's smoke eval); None keeps MAX_NEW_TOKENS. `kinds` (of
    KINDS and OFF_TOPIC; None: all) measures some only, on the very examples a full run asks them: every kind's
    examples are still drawn, in order, so the parts of one eval can run side by side (`merge`)."""

    def budget(kind: str) -> int:
        return MAX_NEW_TOKENS[kind] if max_new_tokens is None else min(max_new_tokens, MAX_NEW_TOKENS[kind])

    processor, model = load_vlm(folder)
    rng = random.Random(ROBUSTNESS_SEED)
    reading: dict[str, list[tuple[bool, bool]]] = {}  # kind: (list right, answer right) per listing answer
    refused: dict[str, list[bool]] = {}  # kind: whether each answer was the off-topic one (a miss of language)
    refused_questions: dict[str, list[str]] = {}  # kind: the questions so refused, to tell which wording fails
    seeing: dict[str, dict[str, int]] = {}  # kind: objects there, and how each was named (scoring.seeing_errors)
    confusions: Counter[str] = Counter()  # "circle as star": n, over every kind
    forced: dict[str, list[bool]] = {}  # kind: whether each answer is right when its true list is given
    checks: dict[str, list[tuple[bool, bool]]] = {}  # kind: (true verdict " yes", decided right) per check beside a listed shape
    per_list: dict[str, list[list[bool]]] = {}  # kind (of LIST_NAMES): per answer, each of its lists right
    samples = []
    measured = ROBUST_KINDS if kinds is None else kinds
    cells: dict = {kind: {renderer: {} for renderer in RENDERERS} for kind in KINDS if kind in measured}
    for kind in KINDS:
        for renderer in RENDERERS:
            for label, aspect in ASPECTS.items():
                tasks = cell_tasks(rng, kind, renderer, aspect, examples)
                if kind not in measured:
                    continue
                prompts = task_prompts(processor, tasks)
                answers = greedy_answers(model, processor.tokenizer, prompts, budget(kind), batch_size, f"eval {kind}")
                right = [is_right(kind, t.answer, a) for t, a in zip(tasks, answers)]
                cells[kind][renderer][label] = sum(right) / len(tasks)
                flags = list(map(gives_off_topic_answer, answers))
                refused.setdefault(kind, []).extend(flags)
                refused_questions.setdefault(kind, []).extend(t.question for t, flag in zip(tasks, flags) if flag)
                for task, answer in zip(tasks, answers):
                    lists = listed_and_true(kind, task.answer, answer)
                    for error, count in seeing_errors(lists).items():
                        seeing.setdefault(kind, dict.fromkeys(SEEING_ERRORS, 0))[error] += count
                    confusions.update(shape_confusions(lists))
                listed = [(seen, ok) for t, a, ok in zip(tasks, answers, right) if (seen := sees_right(t.answer, a)) is not None]
                if kind in LIST_NAMES:
                    per_list.setdefault(kind, []).extend(each_list_right(t.answer, a) for t, a in zip(tasks, answers))
                if listed:
                    reading.setdefault(kind, []).extend(listed)
                    forced.setdefault(kind, []).extend(read_from_true_list(model, processor.tokenizer, tasks, prompts, batch_size))
                    checks.setdefault(kind, []).extend(check_verdicts(model, processor.tokenizer, tasks, prompts))
                samples.append({"kind": kind, "renderer": renderer, "aspect": label, "question": tasks[0].question,
                                "expected": tasks[0].answer, "answer": answers[0]})
    copying = copy_probe(model, processor.tokenizer, rng)
    tasks = off_topic_tasks(rng, off_topic)
    fixed: list[bool] = []
    missed: list[dict] = []
    if OFF_TOPIC in measured:
        answers = greedy_answers(model, processor.tokenizer, task_prompts(processor, tasks), budget(OFF_TOPIC), batch_size,
                                 f"eval {OFF_TOPIC}")
        fixed = list(map(gives_off_topic_answer, answers))
        missed = [{"question": t.question, "answer": a} for t, a, ok in zip(tasks, answers, fixed) if not ok]
        samples.append({"kind": OFF_TOPIC, "question": tasks[0].question, "answer": answers[0]})
    empty, empty_missed = measure_empty(model, processor, rng, batch_size, budget) if OFF_TOPIC in measured else (None, [])
    return {"model": str(folder), "examples_per_cell": examples, "off_topic_requests": off_topic,
            "cells": cells, "off_topic": sum(fixed) / len(tasks) if fixed else None,
            "reading": reading_shares(reading, forced, checks), "copy_probe": copying,
            "lists_right": {kind: [sum(flags) / len(flags) for flags in zip(*per_answer)] for kind, per_answer in per_list.items()},
            "refused": {kind: sum(flags) / len(flags) for kind, flags in refused.items()},
            "refused_questions": refused_questions, "seeing_errors": seeing,
            "shape_confusions": dict(confusions.most_common()),
            "off_topic_missed": missed, "empty": empty, "empty_missed": empty_missed,
            "samples": samples}


def measure_empty(model, processor, rng: random.Random, batch_size: int, budget) -> tuple[dict[str, float], list[dict]]:
    """Per image kind, the share of questions about an empty picture answered exactly as the world does, and the misses."""
    tasks = empty_tasks(rng, EMPTY_PER_KIND)
    answers = greedy_answers(model, processor.tokenizer, task_prompts(processor, tasks), budget("count"), batch_size, "eval empty")
    right = [a.strip() == t.answer for t, a in zip(tasks, answers)]
    shares = {kind: _share([ok for t, ok in zip(tasks, right) if t.kind == kind]) for kind in IMAGE_KINDS}
    return shares, [{"kind": t.kind, "question": t.question, "answer": a} for t, a, ok in zip(tasks, answers, right) if not ok]


_PER_KIND = ("cells", "reading", "refused", "refused_questions", "seeing_errors", "lists_right")


def merge(parts: list[dict]) -> dict:
    """One eval's result from the results of its parts (measure's `kinds`), each kind measured in one part."""
    result = {**parts[0], "samples": [], "off_topic_missed": [], "off_topic": None, "empty": None, "empty_missed": [],
              "cpu_minutes": 0.0}
    result.update({key: {} for key in _PER_KIND})
    confusions: Counter[str] = Counter()
    for part in parts:
        if part["examples_per_cell"] != result["examples_per_cell"] or part["off_topic_requests"] != result["off_topic_requests"]:
            raise ValueError("the parts were measured on different numbers of examples: they are not one eval")
        for key in _PER_KIND:
            result[key].update(part.get(key) or {})
        confusions.update(part.get("shape_confusions") or {})
        result["samples"] += part.get("samples", [])
        result["off_topic_missed"] += part.get("off_topic_missed", [])
        result["cpu_minutes"] = round(result["cpu_minutes"] + part.get("cpu_minutes", 0.0), 1)
        result["empty_missed"] += part.get("empty_missed", [])
        for key in ("off_topic", "empty"):
            if part.get(key) is not None:
                result[key] = part[key]
    result["cells"] = {kind: result["cells"][kind] for kind in KINDS if kind in result["cells"]}  # the table's order
    result["shape_confusions"] = dict(confusions.most_common())
    result["command"] = " + ".join(part.get("command", "?") for part in parts)
    return result


def read_from_true_list(model, tokenizer, tasks: list[Example], prompts: list, batch_size: int) -> list[bool]:
    """Whether each answer is right when it is made to begin with the true "I see ..." list: reading alone, with
    the picture still there, whatever the model would have seen. `prompts` are the tasks' own."""
    starts = [t.answer[: list_end(t.answer)] for t in tasks]
    rests = greedy_answers(model, tokenizer, prompts, CONCLUSION_TOKENS, batch_size, f"read {tasks[0].kind}", starts)
    return [is_right(t.kind, t.answer, f"{start} {rest}") for t, start, rest in zip(tasks, starts, rests)]


def check_verdicts(model, tokenizer, tasks: list[Example], prompts: list) -> list[tuple[bool, bool]]:
    """Each check beside a listed shape (grounded.check): (whether its true verdict is " yes", whether the model
    decides it so). The true answer is given up to each verdict ("... a red circle (is it the blue circle?"), the
    picture there, and the model's likeliest next word is compared with the true " yes" or " no": one forward per
    answer, over every check in it. The " yes" checks are told apart because they are the few: a model that always
    says " no" decides most checks right and counts nothing (session 28: a count's "is it a circle?")."""
    decided = []
    for task, prompt in zip(tasks, prompts):
        answer = tokenizer(task.answer, add_special_tokens=False, return_offsets_mapping=True)
        token_at = {first: index for index, (first, _) in enumerate(answer.offset_mapping)}
        verdicts = [(token_at[v.start(1) - 1], v.group(1) == "yes") for c in CHECK.finditer(task.answer)  # " yes" starts at its space
                    if (v := _VERDICT.search(task.answer, c.start(), c.end()))]
        if not verdicts:
            continue
        ids = torch.cat([prompt.input_ids, torch.tensor([answer.input_ids])], 1)
        with torch.no_grad():
            logits = model(input_ids=ids, **media_batch([prompt.model_inputs])).logits[0]
        before = prompt.input_ids.shape[1] - 1  # the logits one position before a token predict it
        decided += [(yes, int(logits[before + index].argmax()) == answer.input_ids[index]) for index, yes in verdicts]
    return decided


def copy_probe(model, tokenizer, rng: random.Random, lists: int = COPY_PROBE_LISTS) -> dict[str, float]:
    """Whether the model copies from its own text at all: held-out scenes' "I see ..." lists, each written twice
    (text only); the mean loss per token, in nats, of the first telling and of the second. A model that reads
    what it wrote predicts the second telling almost free; one that answers from priors and the picture alone
    pays about as much again."""
    halves = {"first": [], "second": []}
    for _ in range(lists):
        seen = i_see(sample_varied_scene(rng, "heldout", min_objects=3).objects)
        first = tokenizer(seen, add_special_tokens=False, return_tensors="pt").input_ids
        ids = torch.cat([first, tokenizer(" " + seen, add_special_tokens=False, return_tensors="pt").input_ids], 1)
        with torch.no_grad():
            logits = model(input_ids=ids).logits.float()
        losses = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="none")
        halves["first"].append(losses[: first.shape[1] - 1].mean().item())  # its first token has nothing before it
        halves["second"].append(losses[first.shape[1] :].mean().item())  # from the second telling's second token
    return {half: round(sum(values) / len(values), 3) for half, values in halves.items()}


def reading_shares(reading: dict[str, list[tuple[bool, bool]]], forced: dict[str, list[bool]],
                   checks: dict[str, list[tuple[bool, bool]]] | None = None) -> dict:
    """{kind: {"answers": n, "list_right": share, "right_given_list": share of right answers among right lists,
    "right_given_true_list": share right when made to begin with the true list, "checks_right": share of its
    checks decided right, "yes_checks_right": the same over its checks whose true verdict is " yes" (None for a
    kind without)}} from each listing answer's (list right, answer right), its forced answer's rightness and its
    checks' (check_verdicts)."""
    shares = {}
    for kind, pairs in reading.items():
        right_lists = [ok for seen, ok in pairs if seen]
        decided = (checks or {}).get(kind, [])
        shares[kind] = {"answers": len(pairs), "list_right": len(right_lists) / len(pairs),
                        "right_given_list": _share(right_lists),
                        "right_given_true_list": sum(forced[kind]) / len(forced[kind]),
                        "checks_right": _share([ok for _, ok in decided]),
                        "yes_checks_right": _share([ok for yes, ok in decided if yes])}
    return shares


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def command(model: str, examples: int, off_topic: int) -> str:
    """The command that measures `model` as the build's eval stage did (one thread, as the card's figures)."""
    return f"OMP_NUM_THREADS=1 python -m msd_demo.training.robustness --model {model} --examples {examples} --off-topic {off_topic}"


def table(result: dict) -> str:
    """Markdown: a row per kind, a column per renderer and aspect, the kind's mean; then off-topic."""
    columns = [(r, a) for r in RENDERERS for a in ASPECTS]
    head = "| kind | " + " | ".join(f"{r} renderer {a}" for r, a in columns) + " | all |"
    lines = [head, "|---" * (len(columns) + 2) + "|"]
    for kind, by_renderer in result["cells"].items():
        values = [by_renderer[r][a] for r, a in columns]
        lines.append(f"| {kind} | " + " | ".join(f"{v:.0%}" for v in values) + f" | {sum(values) / len(values):.0%} |")
    if result["off_topic"] is not None:
        lines.append(f"\nOff-topic requests answered with the fixed answer: {result['off_topic']:.0%} of {result['off_topic_requests']}.")
    if result.get("empty"):
        shares = ", ".join(f"{kind} {share:.0%}" for kind, share in result["empty"].items())
        lines.append(f"Questions about an empty picture answered exactly (\"I see no shapes. ...\"), {EMPTY_PER_KIND} per kind: {shares}.")
    if result.get("refused"):
        shares = ", ".join(f"{kind} {share:.0%}" for kind, share in result["refused"].items())
        lines.append(f"Questions about the world answered with the off-topic answer instead: {shares}.")
    if result.get("reading"):
        lines += ["", "Seeing and reading, over every cell: the \"I see ...\" list entirely right (seeing), "
                  "the answer right when its list is; given the true list, the checks beside its shapes decided right and "
                  "the answer right when it is made to begin with the true list and its checks (reading).", "",
                  "| kind | answers | list right | answer right given a right list | checks right given the true list "
                  "| of them, \" yes\" checks right | answer right given the true list |",
                  "|---|---|---|---|---|---|---|"]
        for kind, shares in result["reading"].items():
            given, checked, yes_checked, true_list = (
                "-" if shares.get(key) is None else f"{shares[key]:.0%}"
                for key in ("right_given_list", "checks_right", "yes_checks_right", "right_given_true_list")
            )
            lines.append(f"| {kind} | {shares['answers']} | {shares['list_right']:.0%} | {given} | {checked} | {yes_checked} "
                         f"| {true_list} |")
    if result.get("lists_right"):
        each = "; ".join(f"{kind} " + ", ".join(f"{name} {share:.0%}" for name, share in zip(LIST_NAMES[kind], shares))
                         for kind, shares in result["lists_right"].items())
        lines.append(f"\nEach list right where the answer writes several: {each}.")
    if result.get("copy_probe"):
        lines.append(f"\nCopying from its own text: a held-out \"I see ...\" list written twice costs {result['copy_probe']['first']:.2f} "
                     f"nats per token the first time and {result['copy_probe']['second']:.2f} the second.")
    if result.get("seeing_errors"):
        lines += ["", "What was seen, object by object (matched by place), as a share of the objects there; invented: "
                  "objects named at an empty place, per object there.", "",
                  "| kind | objects | " + " | ".join(SEEING_ERRORS) + " |", "|---" * (len(SEEING_ERRORS) + 2) + "|"]
        for kind, errors in result["seeing_errors"].items():
            there = sum(errors[e] for e in SEEING_ERRORS if e != "invented")
            lines.append(f"| {kind} | {there} | " + " | ".join(f"{errors[e] / max(there, 1):.0%}" for e in SEEING_ERRORS) + " |")
    if result.get("shape_confusions"):
        lines.append("\nShapes named wrong, over every kind: " + ", ".join(f"{k} {n}" for k, n in result["shape_confusions"].items()) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m msd_demo.training.robustness", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/target"), help="a VLM folder (default: models/target)")
    parser.add_argument("--examples", type=int, default=200, help="examples per kind, renderer and aspect ratio (default: 200)")
    parser.add_argument("--off-topic", type=int, default=100, help="held-out off-topic requests (default: 100)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--json", type=Path, help="also write the figures and sample answers here")
    parser.add_argument("--kinds", help=f"measure only these, comma-separated, of {','.join(ROBUST_KINDS)}, on the "
                        "examples a full run asks them (run parts side by side, then --merge their --json files)")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON", help="print (and with --json write) one eval "
                        "from the --json files of its parts instead of measuring")
    args = parser.parse_args(argv)
    if args.examples < 1 or args.off_topic < 1:
        parser.error("--examples and --off-topic must be at least 1")
    kinds = tuple(k.strip() for k in args.kinds.split(",")) if args.kinds else None
    if kinds and (unknown := [k for k in kinds if k not in ROBUST_KINDS]):
        parser.error(f"--kinds: unknown {', '.join(unknown)}; allowed: {', '.join(ROBUST_KINDS)}")
    if args.merge:
        result = merge([json.loads(path.read_text()) for path in args.merge])
    else:
        torch.set_num_threads(args.threads)
        started = time.process_time()
        result = measure(args.model, args.examples, args.off_topic, kinds=kinds)
        result["cpu_minutes"] = round((time.process_time() - started) / 60, 1)
        result["command"] = "python -m msd_demo.training.robustness " + " ".join(argv if argv is not None else sys.argv[1:])
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
