"""Run statistics as the JSON of the CLI contract (README) and as a short text report."""

from msd_demo.engine.events import Step
from msd_demo.loading.models import LoadedModel
from msd_demo.measure.metrics import Comparison, RunStats


def run_json(stats: RunStats, target: LoadedModel, with_steps: bool) -> dict:
    result = {
        "token_ids": stats.token_ids,
        "text": target.decode(stats.token_ids),
        "prefill_seconds": stats.prefill_seconds,
        "decode_seconds": stats.decode_seconds,
        "tokens_per_second": stats.tokens_per_second,
    }
    if with_steps:
        result["steps"] = [step_json(step) for step in stats.steps]
    return result


def step_json(step: Step) -> dict:
    return {
        "drafted": len(step.drafted),
        "accepted": step.accepted,
        "emitted": len(step.emitted),
        "draft_seconds": step.draft_seconds,
        "verify_seconds": step.verify_seconds,
        "draft_passes": step.draft_passes,
        "drafted_tokens": [{"id": t.token_id, "text": t.text, "q": t.q, "p": t.p} for t in step.drafted],
        "emitted_tokens": [{"id": t.token_id, "text": t.text, "kind": t.kind, "p": t.p} for t in step.emitted],
        "tree": tree_json(step),
    }


def tree_json(step: Step) -> dict:
    """The step's draft as a tree (a chain is one too): nodes with their parent (-1: the last emitted token)
    and the accepted path as node indices."""
    return {
        "nodes": [{"id": t.token_id, "text": t.text, "parent": t.parent, "q": t.q, "p": t.p} for t in step.drafted],
        "accepted_path": list(step.accepted_path),
    }


def comparison_json(comparison: Comparison, target: LoadedModel, drafter: str, greedy: bool) -> dict:
    return {
        "drafter": drafter,
        "target": run_json(comparison.target, target, with_steps=False),
        "speculative": run_json(comparison.speculative, target, with_steps=True),
        "identical": comparison.identical,
        "first_difference": comparison.first_difference,
        "greedy": greedy,
        "speedup": comparison.speedup,  # wall-clock, end to end
        "compute_speedup": comparison.compute_speedup,  # the compute clocks: prefill + draft + verify
        "theoretical_speedup": comparison.theoretical_speedup,  # what tau and a step's measured costs predict
        "mean_accepted_tokens": comparison.speculative.tau,
        "acceptance_rate": comparison.speculative.alpha,  # accepted / judged positions
        "draft_acceptance": comparison.speculative.draft_acceptance,  # accepted / drafted: not alpha
    }


def comparison_text(result: dict) -> str:
    target, speculative = result["target"], result["speculative"]
    same = "identical" if result["identical"] else f"differ from token {result['first_difference']}"
    return "\n".join([
        f"target only  ({target['tokens_per_second']:.1f} tokens/s): {target['text']}",
        f"speculative  ({speculative['tokens_per_second']:.1f} tokens/s, drafter {result['drafter']}): {speculative['text']}",
        f"speedup {result['speedup']:.2f}x wall-clock, {result['compute_speedup']:.2f}x compute "
        f"(theory {result['theoretical_speedup']:.2f}x), "
        f"tau {result['mean_accepted_tokens']:.2f}, alpha {result['acceptance_rate']:.2f}, outputs {same}",
    ])
