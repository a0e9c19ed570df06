"""One speculative step, for teaching: each drafted token with q and p, the target's top candidates, and the
accept/reject decision. Pure: Steps in, HTML out."""


from msd_demo.engine.events import Candidate, Step
from msd_demo.ui.render import token_span


def first_step_to_inspect(steps: tuple[Step, ...]) -> int:
    """1-based: the first step with a rejection (the instructive case), else the first step."""
    return next((i for i, step in enumerate(steps, 1) if step.accepted < len(step.drafted)), 1)


def inspector_html(steps: tuple[Step, ...], number: int, eos_ids: frozenset[int] = frozenset()) -> str:
    """steps: the speculative run's decode steps; number: 1-based; eos_ids: shown as an EOS chip."""
    if not steps:
        return '<div class="msd-inspector msd-note">Run a comparison, then pick a step to see how it was decided.</div>'
    number = min(max(int(number), 1), len(steps))
    step = steps[number - 1]
    rows = [_draft_row(step, i, eos_ids) for i in range(len(step.drafted))] + [_final_row(step, eos_ids)]
    header = (f"<p><b>Step {number} of {len(steps)}</b>: drafted {len(step.drafted)}, accepted {step.accepted}, "
              f"emitted {len(step.emitted)} · draft {step.draft_seconds * 1e3:.2f} ms{_passes(step)} · "
              f"verify {step.verify_seconds * 1e3:.2f} ms (one target pass over all drafts)</p>")
    head = ("<tr><th>position</th><th>drafted token</th><th>q</th><th>p</th><th>min(1, p/q)</th>"
            "<th>decision</th><th>target's top candidates (p)</th></tr>")
    return f'<div class="msd-inspector">{header}<table>{head}{"".join(rows)}</table></div>'


def _passes(step: Step) -> str:
    """A head drafter's forward passes: FLASH's heads draft more than one token per pass."""
    if not step.draft_passes:
        return ""
    return f" in {step.draft_passes} draft pass{'es' if step.draft_passes > 1 else ''}"


def _draft_row(step: Step, position: int, eos_ids: frozenset[int]) -> str:
    draft = step.drafted[position]
    token = token_span(draft.token_id, draft.text, _draft_kind(step, position), eos_ids=eos_ids)
    cells = [str(position + 1), token, f"{draft.q:.3f}", f"{draft.p:.3f}", f"{draft.accept_probability:.2f}",
             _decision(step, position), _candidates(step, position, eos_ids)]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _final_row(step: Step, eos_ids: frozenset[int]) -> str:
    """The token the verify pass adds itself: the correction at the first rejection, or the bonus token."""
    position = step.accepted
    if position >= len(step.emitted):
        decision = "run ended (EOS or max new tokens)"
        token = ""
    else:
        emitted = step.emitted[position]
        token = token_span(emitted.token_id, emitted.text, emitted.kind, eos_ids=eos_ids)
        decision = ("bonus: every draft accepted, one more token from p" if emitted.kind == "bonus"
                    else "target's correction, from norm(max(0, p − q)) (greedy: argmax p)")
    where = "after the drafts" if position == len(step.drafted) else f"{position + 1} (replaces the rejected draft)"
    cells = [where, token, "", f"{step.emitted[position].p:.3f}" if token else "", "", decision,
             _candidates(step, position, eos_ids)]
    return '<tr class="msd-final">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _draft_kind(step: Step, position: int) -> str:
    return "accepted" if position < step.accepted else "rejected"


def _decision(step: Step, position: int) -> str:
    if position < step.accepted:
        return "✓ accepted"
    if position == step.accepted:
        return "✗ rejected (first rejection)"
    return "✗ discarded (after the first rejection)"


def _candidates(step: Step, position: int, eos_ids: frozenset[int]) -> str:
    if position >= len(step.target_top):
        return ""
    return " ".join(_candidate(candidate, eos_ids) for candidate in step.target_top[position])


def _candidate(candidate: Candidate, eos_ids: frozenset[int]) -> str:
    token = token_span(candidate.token_id, candidate.text, "target", eos_ids=eos_ids)
    return f'<span class="msd-candidate-pair">{token}&nbsp;{candidate.p:.2f}</span>'
