"""One speculative step, for teaching: its draft tree drawn, then each drafted token with q and p, the target's
top candidates, and the accept/reject decision. Pure: Steps in, HTML out."""


from msd_demo.engine.events import Candidate, Step
from msd_demo.measure.metrics import accepted_positions
from msd_demo.ui.render import is_chain, token_span
from msd_demo.ui.tree_view import node_depth, node_fates, tree_html, tree_legend_html


def first_step_to_inspect(steps: tuple[Step, ...]) -> int:
    """1-based: the first step with a rejection (the instructive case), else the first step."""
    return next((i for i, step in enumerate(steps, 1) if step.accepted < len(step.drafted)), 1)


def inspector_html(steps: tuple[Step, ...], number: int, eos_ids: frozenset[int] = frozenset()) -> str:
    """steps: the speculative run's decode steps; number: 1-based; eos_ids: shown as an EOS chip."""
    if not steps:
        return '<div class="msd-inspector msd-note">Run a comparison, then pick a step to see how it was decided.</div>'
    number = min(max(int(number), 1), len(steps))
    step = steps[number - 1]
    fates = node_fates(step)
    rows = [_draft_row(step, i, fates[i], eos_ids) for i in range(len(step.drafted))] + [_final_row(step, eos_ids)]
    # Drafts the target accepted past an emitted EOS were never used: count what the answer kept (metrics' rule).
    header = (f"<p><b>Step {number} of {len(steps)}</b>: drafted {len(step.drafted)}, accepted {accepted_positions(step)}, "
              f"emitted {len(step.emitted)} · draft {step.draft_seconds * 1e3:.2f} ms{_passes(step)} · "
              f"verify {step.verify_seconds * 1e3:.2f} ms (one target pass over all drafts)</p>")
    root = steps[number - 2].emitted[-1] if number > 1 and steps[number - 2].emitted else None
    tree = tree_html(step, root, eos_ids) + tree_legend_html() if step.drafted else ""
    head = ("<tr><th>depth</th><th>drafted token</th><th>q</th><th>p</th><th>min(1, p/q)</th>"
            "<th>decision</th><th>target's top candidates (p)</th></tr>")
    return f'<div class="msd-inspector">{header}{tree}<table>{head}{"".join(rows)}</table></div>'


def _passes(step: Step) -> str:
    """A head drafter's forward passes: FLASH's heads draft more than one token per pass."""
    if not step.draft_passes:
        return ""
    return f" in {step.draft_passes} draft pass{'es' if step.draft_passes > 1 else ''}"


def _draft_row(step: Step, node: int, fate: str, eos_ids: frozenset[int]) -> str:
    """A drafted node; the target's candidates are those at its parent's position, where it was judged."""
    draft = step.drafted[node]
    token = token_span(draft.token_id, draft.text, "accepted" if fate == "accepted" else "rejected", eos_ids=eos_ids)
    cells = [str(node_depth(step, node)), token, f"{draft.q:.3f}", f"{draft.p:.3f}", f"{draft.accept_probability:.2f}",
             _decision(step, fate), _candidates(step, draft.parent + 1, eos_ids)]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _final_row(step: Step, eos_ids: frozenset[int]) -> str:
    """The token the verify pass adds itself: the correction at the first rejection, or the bonus token."""
    position = step.accepted
    path = step.accepted_path or tuple(range(step.accepted))
    judged_at = path[-1] + 1 if path else 0  # the target's position after the path's end
    if position >= len(step.emitted):
        decision = "run ended (EOS or max new tokens)"
        token = ""
    else:
        emitted = step.emitted[position]
        token = token_span(emitted.token_id, emitted.text, emitted.kind, eos_ids=eos_ids)
        decision = ("bonus: every draft accepted, one more token from p" if emitted.kind == "bonus"
                    else "target's correction, from norm(max(0, p − q)) (greedy: argmax p)")
    bonus = token and step.emitted[position].kind == "bonus"
    where = f"{position + 1} (after the path)" if bonus else f"{position + 1} (replaces the refused drafts)"
    cells = [where, token, "", f"{step.emitted[position].p:.3f}" if token else "", "", decision,
             _candidates(step, judged_at, eos_ids)]
    return '<tr class="msd-final">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _decision(step: Step, fate: str) -> str:
    if fate == "accepted":
        return "✓ accepted"
    if fate == "rejected":
        return "✗ rejected (first rejection)" if is_chain(step) else "✗ rejected"
    return "✗ discarded (after the first rejection)" if is_chain(step) else "– never judged (below a refused node)"




def _candidates(step: Step, position: int, eos_ids: frozenset[int]) -> str:
    """position: the target's row (0: after the root, 1 + i: after drafted node i)."""
    if position >= len(step.target_top):
        return ""
    return " ".join(_candidate(candidate, eos_ids) for candidate in step.target_top[position])


def _candidate(candidate: Candidate, eos_ids: frozenset[int]) -> str:
    token = token_span(candidate.token_id, candidate.text, "target", eos_ids=eos_ids)
    return f'<span class="msd-candidate-pair">{token}&nbsp;{candidate.p:.2f}</span>'
