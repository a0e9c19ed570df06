"""Steps -> token HTML for the two panels, and the legend. Pure: no model, no gradio.

Colours come from each token's kind in the Step events, never from its text. Token text is HTML-escaped and
shown in a pre-wrap block, so spaces and newlines appear exactly as decoded.
"""

from html import escape

from msd_demo.engine.events import DraftToken, Step, Token

LEGEND = (
    ("accepted", "accepted draft", "the drafter proposed it and the target kept it"),
    ("rejected", "rejected draft", "proposed, refused by the target (struck through, shown where it was proposed)"),
    ("corrected", "target's correction", "the target's own token at the first rejection"),
    ("bonus", "bonus token", "all drafts were accepted, so the verify pass yields one more token for free"),
    ("target", "target token", "decoded by the target alone (one forward pass each)"),
)


def target_panel_html(steps: tuple[Step, ...]) -> str:
    spans = [_span(token.text, "target", f"target token\np = {token.p:.3f}") for step in steps for token in step.emitted]
    return _panel(spans, len(spans), "target")


def speculative_panel_html(steps: tuple[Step, ...]) -> str:
    spans = [span for step in steps for span in _speculative_step_spans(step)]
    tokens = sum(len(step.emitted) for step in steps)
    return _panel(spans, tokens, "speculative")


def legend_html() -> str:
    items = "".join(
        f'<span class="msd-legend-item" title="{escape(why)}"><span class="tok tok-{kind}">{escape(label)}</span></span>'
        for kind, label, why in LEGEND
    )
    return f'<div class="msd-legend">{items}<span class="msd-legend-hint">hover a token for p, q and min(1, p/q)</span></div>'


def _speculative_step_spans(step: Step) -> list[str]:
    """Accepted drafts, then the rejected drafts where they were proposed, then the correction or bonus."""
    spans = [_emitted_span(token, step, i) for i, token in enumerate(step.emitted)]
    if step.drafted[step.accepted :] and len(spans) >= step.accepted:
        rejected = [_rejected_span(draft, i > 0) for i, draft in enumerate(step.drafted[step.accepted :])]
        spans[step.accepted : step.accepted] = rejected
    if spans and not step.is_prefill:
        spans[0] = spans[0].replace('class="tok ', 'class="tok step-start ', 1)
    return spans


def _emitted_span(token: Token, step: Step, position: int) -> str:
    if token.kind == "accepted":
        return _span(token.text, "accepted", "accepted draft\n" + _draft_numbers(step.drafted[position]))
    if token.kind == "corrected":
        return _span(token.text, "corrected", f"target's correction at the first rejection\np = {token.p:.3f}")
    if token.kind == "bonus":
        return _span(token.text, "bonus", f"bonus token: all {len(step.drafted)} drafts accepted\np = {token.p:.3f}")
    return _span(token.text, "target", f"first token, from the target's prefill\np = {token.p:.3f}")


def _rejected_span(draft: DraftToken, after_first_rejection: bool) -> str:
    why = "discarded: proposed after the first rejection" if after_first_rejection else "rejected draft"
    return _span(draft.text, "rejected", f"{why}\n{_draft_numbers(draft)}")


def _draft_numbers(draft: DraftToken) -> str:
    return f"q = {draft.q:.3f}, p = {draft.p:.3f}\nacceptance probability min(1, p/q) = {draft.accept_probability:.2f}"


def _span(text: str, kind: str, title: str) -> str:
    return f'<span class="tok tok-{kind}" title="{escape(title)}">{escape(text)}</span>'


def _panel(spans: list[str], tokens: int, run: str) -> str:
    body = "".join(spans) if spans else '<span class="msd-waiting">waiting for the first token...</span>'
    return f'<div class="msd-panel msd-panel-{run}" data-tokens="{tokens}">{body}</div>'


CSS = """
.msd-panel { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 14px;
  line-height: 1.9; min-height: 7em; max-height: 24em; overflow-y: auto; padding: 8px 10px; border-radius: 8px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
.tok { border-radius: 3px; padding: 1px 0; }
.tok-target { color: var(--body-text-color); }
.tok-accepted { background: #c9f2d0; color: #0a5a1c; }
.tok-rejected { background: #ffd6d6; color: #a40e0e; text-decoration: line-through; }
.tok-corrected { background: #d4e2ff; color: #1740b0; }
.tok-bonus { background: #d4e2ff; color: #1740b0; text-decoration: underline dotted; }
.tok.step-start { box-shadow: inset 2px 0 0 #8a8a8a; }
.msd-legend { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; font-size: 13px; }
.msd-legend .tok { padding: 2px 6px; }
.msd-legend-hint { opacity: 0.7; font-style: italic; }
.msd-waiting { opacity: 0.6; font-style: italic; }
.msd-stats table, .msd-inspector table { border-collapse: collapse; font-size: 14px; }
.msd-stats td, .msd-stats th, .msd-inspector td, .msd-inspector th { padding: 3px 10px; text-align: left;
  border-bottom: 1px solid var(--border-color-primary); }
.msd-badges { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; }
.msd-badge { padding: 3px 10px; border-radius: 999px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); font-size: 14px; }
.msd-badge b { font-size: 16px; }
.msd-note { font-size: 12px; opacity: 0.75; }
.msd-inspector .tok { white-space: pre; }
.msd-candidate { outline: 1px solid #bbb; }
.msd-candidate-pair { white-space: nowrap; margin-right: 6px; }
.msd-error { padding: 8px 12px; border-radius: 8px; background: #ffe3e3; color: #8a1010; border: 1px solid #f5a5a5; }
"""
