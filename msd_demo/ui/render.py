"""Steps -> token HTML for the two panels, and the legend. Pure: no model, no gradio.

Colours come from each token's kind in the Step events, never from its text. Token text is HTML-escaped and
shown in a pre-wrap block, so spaces and newlines appear exactly as decoded. An end-of-sequence token is
shown as a small "EOS" chip (eos_ids: the target's EOS ids), not as its text ("</s>").
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


EOS_TITLE = "end of sequence (EOS): the model ends its answer here"


def target_panel_html(steps: tuple[Step, ...], eos_ids: frozenset[int] = frozenset()) -> str:
    spans = [token_span(token.token_id, token.text, "target", f"target token\np = {token.p:.3f}", eos_ids)
             for step in steps for token in step.emitted]
    return _panel(spans, len(spans), len(steps), "target")


def speculative_panel_html(steps: tuple[Step, ...], eos_ids: frozenset[int] = frozenset()) -> str:
    spans = [span for step in steps for span in _speculative_step_spans(step, eos_ids)]
    tokens = sum(len(step.emitted) for step in steps)
    return _panel(spans, tokens, len(steps), "speculative")


def token_span(token_id: int, text: str, kind: str, title: str = "", eos_ids: frozenset[int] = frozenset()) -> str:
    """One token coloured by its kind; an EOS token as a marked "EOS" chip whose title says what it is."""
    if token_id in eos_ids:
        title = f"{EOS_TITLE}\n{title}" if title else EOS_TITLE
        return f'<span class="tok tok-{kind} tok-eos" title="{escape(title)}">EOS</span>'
    title_attribute = f' title="{escape(title)}"' if title else ""
    return f'<span class="tok tok-{kind}"{title_attribute}>{escape(text)}</span>'


def legend_html() -> str:
    items = "".join(
        f'<span class="msd-legend-item" title="{escape(why)}"><span class="tok tok-{kind}">{escape(label)}</span></span>'
        for kind, label, why in LEGEND
    )
    return f'<div class="msd-legend">{items}<span class="msd-legend-hint">hover a token for p, q and min(1, p/q)</span></div>'


def _speculative_step_spans(step: Step, eos_ids: frozenset[int]) -> list[str]:
    """Accepted drafts, then the refused drafts where they were proposed, then the correction or bonus. A
    chain shows its whole refused tail; a tree the refused children of its path's end (the tree view draws
    the rest)."""
    path = step.accepted_path or tuple(range(step.accepted))
    spans = [_emitted_span(token, step, path, i, eos_ids) for i, token in enumerate(step.emitted)]
    refused = _refused(step, path)
    if refused and len(spans) >= step.accepted:
        chain = is_chain(step)
        spans[step.accepted : step.accepted] = [_rejected_span(step.drafted[node], chain and i > 0, eos_ids)
                                                for i, node in enumerate(refused)]
    if spans and not step.is_prefill:
        spans[0] = spans[0].replace('class="tok ', 'class="tok step-start ', 1)
    return spans


def _refused(step: Step, path: tuple[int, ...]) -> list[int]:
    if is_chain(step):
        return list(range(step.accepted, len(step.drafted)))
    end = path[-1] if path else -1
    return [node for node, draft in enumerate(step.drafted) if draft.parent == end]


def is_chain(step: Step) -> bool:
    """Every node the child of the one before: a chain (a tree with top-k 1)."""
    return all(draft.parent == node - 1 for node, draft in enumerate(step.drafted))


def _emitted_span(token: Token, step: Step, path: tuple[int, ...], position: int, eos_ids: frozenset[int]) -> str:
    if token.kind == "accepted":
        title = "accepted draft\n" + _draft_numbers(step.drafted[path[position]])
    elif token.kind == "corrected":
        title = f"target's correction at the first rejection\np = {token.p:.3f}"
    elif token.kind == "bonus":
        title = f"bonus token: all {len(path)} drafts on the path accepted\np = {token.p:.3f}"
    else:
        title = f"first token, from the target's prefill\np = {token.p:.3f}"
    kind = token.kind if token.kind in ("accepted", "corrected", "bonus") else "target"
    return token_span(token.token_id, token.text, kind, title, eos_ids)


def _rejected_span(draft: DraftToken, after_first_rejection: bool, eos_ids: frozenset[int]) -> str:
    why = "discarded: proposed after the first rejection" if after_first_rejection else "rejected draft"
    return token_span(draft.token_id, draft.text, "rejected", f"{why}\n{_draft_numbers(draft)}", eos_ids)


def _draft_numbers(draft: DraftToken) -> str:
    return f"q = {draft.q:.3f}, p = {draft.p:.3f}\nacceptance probability min(1, p/q) = {draft.accept_probability:.2f}"


def _panel(spans: list[str], tokens: int, steps: int, run: str) -> str:
    body = "".join(spans) if spans else '<span class="msd-waiting">waiting for the first token...</span>'
    return f'<div class="msd-panel msd-panel-{run}" data-tokens="{tokens}" data-steps="{steps}">{body}</div>'


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
.tok-eos { display: inline-block; font: 600 10px/1.4 ui-sans-serif, system-ui, sans-serif; letter-spacing: 0.05em;
  padding: 0 4px; margin: 0 2px; border: 1px solid currentColor; border-radius: 4px; vertical-align: middle; opacity: 0.85; }
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
.msd-candidate-pair .tok { outline: 1px solid #bbb; }
.msd-candidate-pair { white-space: nowrap; margin-right: 6px; }
.msd-tree { margin: 6px 0; }
.msd-tree-scroll { overflow: auto; max-height: 460px; }
.msd-tree-live .msd-tree-scroll { max-height: 260px; overflow-x: hidden; overflow-y: auto; }
.msd-tree-live svg { max-width: 100%; width: auto; height: auto; }
.msd-error { padding: 8px 12px; border-radius: 8px; background: #ffe3e3; color: #8a1010; border: 1px solid #f5a5a5; }
"""
