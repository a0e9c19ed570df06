"""The draft tree drawing (msd_demo/ui/tree_view.py) on hand-built Steps: which node gets which colour, what
hovering says, and that a chain and MSD's 59-node tree both draw."""

import re

from msd_demo.engine.events import DraftToken, Step, Token
from msd_demo.ui.tree_view import COLOURS, latest_tree_html, node_fates, tree_html

EOS = 2


def chain_step(accepted: int) -> Step:
    """A 4-token chain, the first `accepted` kept, then the target's correction (or the bonus when all were)."""
    words = [(10, " a"), (11, " red"), (12, " circle"), (13, " on")]
    drafted = tuple(DraftToken(t, text, 0.8, 0.9 if i < accepted else 0.1, 1.0 if i < accepted else 0.0, parent=i - 1)
                    for i, (t, text) in enumerate(words))
    kind = "bonus" if accepted == 4 else "corrected"
    emitted = tuple(Token(t, text, "accepted", 0.9) for t, text in words[:accepted]) + (Token(20, " blue", kind, 0.7),)
    return Step(1, drafted, accepted, emitted, 0.001, 0.002, accepted_path=tuple(range(accepted)))


def branching_step() -> Step:
    """Root's children: " a" (refused), " the" (accepted); under " the": " big" (accepted, a leaf: bonus) and
    " small" (refused); under " a": " red" (never judged)."""
    drafted = (
        DraftToken(10, " a", 0.5, 0.2, 0.0, parent=-1),
        DraftToken(11, " the", 0.3, 0.6, 1.0, parent=-1),
        DraftToken(12, " red", 0.7, 0.4, 1.0, parent=0),
        DraftToken(13, " big", 0.6, 0.8, 1.0, parent=1),
        DraftToken(14, " small", 0.3, 0.1, 0.0, parent=1),
    )
    emitted = (Token(11, " the", "accepted", 0.6), Token(13, " big", "accepted", 0.8), Token(EOS, "</s>", "bonus", 0.9))
    return Step(3, drafted, 2, emitted, 0.001, 0.002, accepted_path=(1, 3))


def node_kinds(html: str) -> list[str]:
    return re.findall(r'class="tree-node tree-(\w+)"', html)


def titles(html: str, kind: str) -> list[str]:
    return re.findall(rf'class="tree-node tree-{kind}" data-kind="{kind}"><title>([^<]*)</title>', html)


def test_a_chain_with_a_rejection_draws_green_then_red_then_grey_and_the_correction_in_blue():
    step = chain_step(accepted=1)
    assert node_fates(step) == ("accepted", "rejected", "unjudged", "unjudged")
    html = tree_html(step, Token(9, " is", "accepted", 0.5))
    assert node_kinds(html) == ["root", "accepted", "rejected", "unjudged", "unjudged", "corrected"]
    assert 'data-accepted="1" data-rejected="1" data-unjudged="2"' in html
    assert "&#x27; is&#x27;" in titles(html, "root")[0]  # the root names the token the draft grew from


def test_a_fully_accepted_chain_ends_in_a_bonus_token():
    html = tree_html(chain_step(accepted=4))
    assert node_kinds(html) == ["root"] + ["accepted"] * 4 + ["bonus"]
    assert "bonus" in titles(html, "bonus")[0]


def test_a_tree_marks_the_refused_siblings_red_the_subtree_below_them_grey_and_the_bonus_blue():
    step = branching_step()
    assert node_fates(step) == ("rejected", "accepted", "unjudged", "accepted", "rejected")
    html = tree_html(step, eos_ids=frozenset({EOS}))
    assert sorted(node_kinds(html)) == sorted(["root", "rejected", "accepted", "unjudged", "accepted", "rejected", "bonus"])
    for kind in ("accepted", "rejected", "unjudged", "bonus"):  # each fate in its own colours
        fill = COLOURS[kind][0]
        groups = re.findall(rf'tree-{kind}".*?</g>', html, re.S)
        assert groups and all(f'fill="{fill}"' in group for group in groups)
    assert len({COLOURS[kind][0] for kind in ("accepted", "rejected", "unjudged", "bonus")}) == 4
    bonus = re.search(r'tree-bonus".*?</g>', html, re.S).group()
    assert ">EOS</text>" in bonus and "end of sequence" in bonus  # EOS drawn as the panels' chip, not "</s>"
    assert "&lt;/s&gt;" not in html.split("<title>")[0]


def test_hovering_a_node_gives_its_token_q_p_and_the_acceptance_ratio():
    html = tree_html(branching_step())
    refused = titles(html, "rejected")
    assert any("&#x27; a&#x27;" in title and "q = 0.500, p = 0.200, min(1, p/q) = 0.40" in title for title in refused)
    assert any("kept the sibling &#x27; the&#x27;" in title for title in refused)
    accepted = titles(html, "accepted")
    assert any("q = 0.300, p = 0.600, min(1, p/q) = 1.00" in title for title in accepted)
    assert "never judged" in titles(html, "unjudged")[0]


def test_the_path_runs_straight_into_the_targets_token():
    """The blue token sits on its parent's row, one column to the right: the path reads left to right."""
    html = tree_html(chain_step(accepted=2))
    boxes = re.findall(r'tree-(\w+)" data-kind="\w+"><title>[^<]*</title><rect x="([\d.]+)" y="([\d.]+)"', html)
    where = {kind: (float(x), float(y)) for kind, x, y in boxes if kind in ("corrected",)}
    path_end = [(float(x), float(y)) for kind, x, y in boxes if kind == "accepted"][-1]
    assert where["corrected"][1] == path_end[1] and where["corrected"][0] > path_end[0]


def msd_shaped_step() -> Step:
    """59 nodes to depth 5 (MSD's tree: top-k 10): 10 at depth 1, then 20, 15, 10 and 4 below the first few;
    the path " token00", " token10" accepted, the rest of depth 3 under it refused."""
    levels = [(10, None), (20, (0, 4)), (15, (10, 5)), (10, (30, 5)), (4, (45, 2))]  # (count, (first parent, how many))
    drafted = []
    for count, parents in levels:
        for i in range(count):
            parent = -1 if parents is None else parents[0] + i % parents[1]
            drafted.append(DraftToken(100 + len(drafted), f" token{len(drafted):02d}long", 0.5, 0.1, 0.0, parent=parent))
    emitted = (Token(100, " token00long", "accepted", 0.9), Token(110, " token10long", "accepted", 0.9),
               Token(7, " x", "corrected", 0.4))
    return Step(1, tuple(drafted), 2, emitted, 0.001, 0.002, accepted_path=(0, 10))


def test_msds_59_node_tree_stays_within_a_readable_size():
    """top-k 10, depth 5, 59 nodes: every node drawn once, each in its own place, text cut but hover whole."""
    step = msd_shaped_step()
    html = tree_html(step)
    assert len(node_kinds(html)) == 61
    boxes = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width', html)
    assert len(set(boxes)) == len(boxes)  # no two nodes on top of each other
    width, height = (int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', html).groups())
    assert width <= 600 and height < 61 * 24
    assert " token12…<" in html and "token12long" in html  # cut on the node, whole in the hover text


def test_the_live_view_shows_the_latest_steps_tree_grown_from_the_previous_steps_last_token():
    prefill = Step(0, (), 0, (Token(9, " is", "target", 0.5),), 0.0, 0.01, is_prefill=True)
    assert "appears here" in latest_tree_html((prefill,))
    html = latest_tree_html((prefill, chain_step(accepted=1)))
    assert "the draft tree of step 1" in html and 'data-nodes="4"' in html and "msd-tree-live" in html
    assert "&#x27; is&#x27;" in titles(html, "root")[0]


def test_after_an_accepted_eos_nothing_below_it_counts_as_judged():
    """The answer ends at an accepted EOS: the path's later nodes and the EOS node's children go grey."""
    drafted = (DraftToken(EOS, "</s>", 0.9, 0.9, 1.0, parent=-1), DraftToken(11, " x", 0.9, 0.9, 1.0, parent=0),
               DraftToken(12, " y", 0.1, 0.1, 0.0, parent=0))
    step = Step(2, drafted, 2, (Token(EOS, "</s>", "accepted", 0.9),), 0.001, 0.002, accepted_path=(0, 1))
    assert node_fates(step) == ("accepted", "unjudged", "unjudged")
    html = tree_html(step, eos_ids=frozenset({EOS}))
    assert "corrected" not in node_kinds(html) and "bonus" not in node_kinds(html) and "&lt;/s&gt;" not in html
