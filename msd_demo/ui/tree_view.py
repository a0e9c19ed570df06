"""A speculative step's draft tree as an SVG drawing. Pure: a Step in, HTML out; no model, no gradio.

The root (the last emitted token) is on the left, each depth one column to the right, siblings stacked in the
order they were drafted. Every node gets the fate the target gave it: on the accepted path (green), judged and
refused (red: a child of the root or of an accepted node, off the path), or never judged (grey: below a
refused node, or after the answer ended). The target's own token, its correction or the bonus, is drawn in
blue as one more child of the path's end. A chain is the tree whose nodes each have one child.
"""

from dataclasses import dataclass
from html import escape

from msd_demo.engine.events import Step, Token
from msd_demo.measure.metrics import accepted_positions
from msd_demo.ui.render import EOS_TITLE

COLUMN, ROW = 92, 24  # px between depths, between stacked siblings
NODE_WIDTH, NODE_HEIGHT, MARGIN = 78, 19, 4
LABEL_CHARS = 9  # longer token texts are cut (the hover text has them whole)
# fill, text and border per fate; the same palette as the panels' tokens (render.CSS)
COLOURS = {
    "accepted": ("#c9f2d0", "#0a5a1c", "#2e9a48"),
    "rejected": ("#ffd6d6", "#a40e0e", "#d04545"),
    "unjudged": ("#eeeeee", "#8a8a8a", "#bdbdbd"),
    "corrected": ("#d4e2ff", "#1740b0", "#3d68d8"),
    "bonus": ("#d4e2ff", "#1740b0", "#3d68d8"),
    "root": ("#ffffff", "#333333", "#8a8a8a"),
}
TREE_LEGEND = ("root: the last emitted token · green: the accepted path · red: judged and refused · "
               "grey: never judged · blue: the target's correction or bonus token · hover a node for q and p")


@dataclass(frozen=True)
class Node:
    """One drawn node: a drafted one (index >= 0), the root (-1) or the target's token (-2)."""

    index: int
    parent: int  # the drawn parent's index (-1: the root; the root's own is None)
    kind: str
    label: str
    title: str
    eos: bool = False


def node_fates(step: Step) -> tuple[str, ...]:
    """Each drafted node's fate: "accepted", "rejected" (judged and refused) or "unjudged"."""
    used = _used_path(step)
    judged_parents = {-1, *used}
    if _final_token(step) is None and used:  # the answer ended on the path: nothing below it was judged
        judged_parents.discard(used[-1])
    return tuple("accepted" if node in used else "rejected" if draft.parent in judged_parents else "unjudged"
                 for node, draft in enumerate(step.drafted))


def tree_html(step: Step, root: Token | None = None, eos_ids: frozenset[int] = frozenset(), live: bool = False) -> str:
    """The step's tree; root: the token it grew from (the previous step's last), None when not known."""
    nodes = _nodes(step, root, eos_ids)
    rows, depths = _layout(nodes)
    width = (max(depths.values()) + 1) * COLUMN + MARGIN
    height = (max(rows.values()) + 1) * ROW + MARGIN
    by_index = {node.index: node for node in nodes}
    edges = [_edge(rows, depths, by_index[node.parent], node) for node in nodes if node.parent is not None]
    drawn = [_node_svg(node, rows[node.index], depths[node.index]) for node in nodes]
    svg = (f'<svg class="msd-tree-svg" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" role="img" '
           f'aria-label="draft tree of {len(step.drafted)} nodes">{"".join(edges)}{"".join(drawn)}</svg>')
    fates = [node.kind for node in nodes if node.index >= 0]  # the drafted nodes' fates, as _nodes drew them
    counts = {fate: fates.count(fate) for fate in ("accepted", "rejected", "unjudged")}
    depth = max((node_depth(step, index) for index in range(len(step.drafted))), default=0)
    caption = (f"{len(step.drafted)} drafted nodes, depth {depth}: "
               f"{counts['accepted']} accepted, {counts['rejected']} refused, {counts['unjudged']} never judged")
    data = " ".join(f'data-{fate}="{count}"' for fate, count in counts.items())
    kind = "msd-tree-live" if live else "msd-tree-full"
    return (f'<div class="msd-tree {kind}" data-nodes="{len(step.drafted)}" {data}>'
            f'<div class="msd-tree-scroll">{svg}</div><div class="msd-note">{caption}</div></div>')


def latest_tree_html(speculative: tuple[Step, ...], eos_ids: frozenset[int] = frozenset()) -> str:
    """The live view: the latest decode step's tree, or a placeholder before the first."""
    if len(speculative) < 2 or speculative[-1].is_prefill:
        return '<div class="msd-tree msd-tree-live msd-note">The latest step\'s draft tree appears here.</div>'
    step, before = speculative[-1], speculative[-2]
    root = before.emitted[-1] if before.emitted else None
    heading = f'<div class="msd-note">the draft tree of step {len(speculative) - 1}, the latest</div>'
    return heading + tree_html(step, root, eos_ids, live=True)


def tree_legend_html() -> str:
    return f'<div class="msd-note">{escape(TREE_LEGEND)}</div>'


def _used_path(step: Step) -> tuple[int, ...]:
    """The accepted nodes the answer kept (metrics' rule: an EOS on the path ends it, and the rest go unused)."""
    path = step.accepted_path or tuple(range(step.accepted))  # a hand-built chain may leave the path implicit
    return path[:accepted_positions(step)]


def _final_token(step: Step) -> Token | None:
    """The target's correction or bonus token; None when the answer ended on the path."""
    final = step.emitted[len(_used_path(step)):]
    return final[0] if final and final[0].kind in ("corrected", "bonus") else None


def _nodes(step: Step, root: Token | None, eos_ids: frozenset[int]) -> list[Node]:
    root_text = _shown(root.text, root.token_id, eos_ids) if root else "root"
    root_title = f"root: the last emitted token {root_text!r}; the draft grows from it" if root else \
        "root: the last emitted token (the prefill's); the draft grows from it"
    nodes = [Node(-1, None, "root", _label(root_text), root_title, bool(root and root.token_id in eos_ids))]
    fates, used = node_fates(step), _used_path(step)
    for index, draft in enumerate(step.drafted):
        text = _shown(draft.text, draft.token_id, eos_ids)
        title = f"{_fate_text(step, index, fates[index], used, eos_ids)}\n{text!r} (depth {node_depth(step, index)})\n" + \
            f"q = {draft.q:.3f}, p = {draft.p:.3f}, min(1, p/q) = {_ratio(draft.p, draft.q):.2f}"
        eos = draft.token_id in eos_ids
        nodes.append(Node(index, draft.parent, fates[index], _label(draft.text), _eos_title(title, eos), eos))
    final = _final_token(step)
    if final is not None:
        why = ("bonus: the path reached a leaf, so the verify pass gives one more token" if final.kind == "bonus"
               else "the target's correction: its own token where the children were refused")
        eos = final.token_id in eos_ids
        title = _eos_title(f"{why}\n{_shown(final.text, final.token_id, eos_ids)!r}\np = {final.p:.3f}", eos)
        nodes.append(Node(-2, used[-1] if used else -1, final.kind, _label(final.text), title, eos))
    return nodes


def _fate_text(step: Step, index: int, fate: str, used: tuple[int, ...], eos_ids: frozenset[int]) -> str:
    if fate == "accepted":
        return "accepted: on the path the target kept"
    if fate == "unjudged":
        return "never judged: drafted below a refused node, or after the answer ended"
    kept = next((node for node in used if step.drafted[node].parent == step.drafted[index].parent), None)
    if kept is None:
        return "rejected: refused by the target"
    sibling = step.drafted[kept]
    return f"rejected: the target kept the sibling {_shown(sibling.text, sibling.token_id, eos_ids)!r}"


def _layout(nodes: list[Node]) -> tuple[dict[int, int], dict[int, int]]:
    """Row and depth of every node, packed: depth first, each subtree as high as the columns it spans allow,
    so a node sits on its first child's row and no two parents' connecting lines share a stretch. The
    target's token comes first among its parent's children: the path runs straight into it when it can."""
    children: dict[int, list[int]] = {}
    for node in nodes[1:]:
        children.setdefault(node.parent, []).append(node.index)
    for siblings in children.values():
        siblings.sort(key=lambda index: index != -2)  # stable: drafted order otherwise
    reach: dict[int, int] = {}  # how many columns below a node its subtree spans

    def spans(index: int) -> int:
        reach[index] = max((1 + spans(child) for child in children.get(index, [])), default=0)
        return reach[index]

    spans(-1)
    rows, depths, free = {}, {}, [0] * (reach[-1] + 1)  # free: the first free row of each column

    def place(index: int, depth: int, parent_row: int) -> None:
        rows[index] = max(parent_row, *free[depth: depth + reach[index] + 1])
        depths[index] = depth
        for child in children.get(index, []):
            place(child, depth + 1, rows[index])
        free[depth] = rows[index] + 1

    place(-1, 0, 0)
    return rows, depths


def _node_svg(node: Node, row: int, depth: int) -> str:
    fill, text, border = COLOURS[node.kind]
    x, y = depth * COLUMN + MARGIN, row * ROW + MARGIN
    dashed = ' stroke-dasharray="3 2"' if node.kind == "unjudged" else ""
    strike = ' text-decoration="line-through"' if node.kind == "rejected" else ""
    box = (f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="4" fill="{fill}" '
           f'stroke="{border}"{dashed}/>')
    middle = y + NODE_HEIGHT / 2
    if node.eos:  # the panels' EOS chip: small bold capitals in a bordered box
        label = (f'<rect x="{x + NODE_WIDTH / 2 - 15}" y="{middle - 6.5}" width="30" height="13" rx="3" fill="none" '
                 f'stroke="{text}"/><text x="{x + NODE_WIDTH / 2}" y="{middle}" fill="{text}" text-anchor="middle" '
                 f'dominant-baseline="central" font-family="ui-sans-serif, system-ui, sans-serif" font-size="9" '
                 f'font-weight="600" letter-spacing="0.5">EOS</text>')
    else:
        label = (f'<text x="{x + 5}" y="{middle}" fill="{text}" dominant-baseline="central" xml:space="preserve" '
                 f'font-family="ui-monospace, SFMono-Regular, Menlo, monospace" font-size="12"{strike}>'
                 f'{escape(node.label)}</text>')
    return (f'<g class="tree-node tree-{node.kind}" data-kind="{node.kind}"><title>{escape(node.title)}</title>'
            f'{box}{label}</g>')


def _edge(rows: dict[int, int], depths: dict[int, int], parent: Node, child: Node) -> str:
    x1 = depths[parent.index] * COLUMN + MARGIN + NODE_WIDTH
    x2 = depths[child.index] * COLUMN + MARGIN
    y1, y2 = (rows[index] * ROW + MARGIN + NODE_HEIGHT / 2 for index in (parent.index, child.index))
    bend = (x1 + x2) / 2
    colour = COLOURS[child.kind][2]
    return (f'<path class="tree-edge" d="M{x1} {y1} H{bend - 4} Q{bend} {y1} {bend} {y1 + (4 if y2 > y1 else 0)} '
            f'V{y2 - (4 if y2 > y1 else 0)} Q{bend} {y2} {bend + 4} {y2} H{x2}" fill="none" stroke="{colour}" '
            f'stroke-width="1.5"/>')


def _label(text: str) -> str:
    shown = text.replace("\n", "↵").replace("\t", "→")
    shown = shown if shown.strip() else shown.replace(" ", "␣")  # a lone space would look like an empty node
    return shown if len(shown) <= LABEL_CHARS else shown[: LABEL_CHARS - 1] + "…"


def _shown(text: str, token_id: int, eos_ids: frozenset[int]) -> str:
    """An EOS token's text ("</s>") is never shown: it reads as markup; the chip says EOS."""
    return "EOS" if token_id in eos_ids else text


def _eos_title(title: str, eos: bool) -> str:
    return f"{EOS_TITLE}\n{title}" if eos else title


def node_depth(step: Step, index: int) -> int:
    """1 for a child of the root."""
    depth = 0
    while index >= 0:
        depth, index = depth + 1, step.drafted[index].parent
    return depth


def _ratio(p: float, q: float) -> float:
    return min(1.0, p / q) if q > 0 else 1.0
