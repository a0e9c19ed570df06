"""Draft trees through the app's handler and wiring, on the tiny random LLaVA models: the Draft choice reaches
the engine, bad shapes get the engine's own messages, and the live view and inspector draw the trees."""

import re

import pytest

from msd_demo.errors import UserInputError
from msd_demo.ui import handler, wiring
from msd_demo.ui.examples import ASSETS_DIR
from msd_demo.ui.inspector import inspector_html

pytestmark = pytest.mark.usefixtures("app_on_random_models")

IMAGE = str(ASSETS_DIR / "shapes_1.png")
QUESTION = "Describe the picture in detail."
TREE = dict(draft="tree", tree_top_k=3, tree_depth=3, tree_nodes=8, dynamic_threshold=0.2)


@pytest.fixture(scope="module")
def tree_run():
    """The app's UI handler on a tree, to its last update."""
    arguments = (IMAGE, None, QUESTION, "tiny", "model", 4, 0.0, 24, 0)
    *_, final = wiring.run_in_ui(*arguments, *TREE.values())
    return final


def test_the_draft_choice_reaches_the_engine():
    chain = handler.Settings(**handler.draft_settings("chain", 3, 3, 8, 0.5)).decode_config()
    assert chain.tree is None and chain.dynamic_threshold == 0.0  # the shape and threshold unused for a chain
    tree = handler.Settings(**handler.draft_settings(*TREE.values())).decode_config()
    assert (tree.tree.top_k, tree.tree.depth, tree.tree.nodes, tree.dynamic_threshold) == (3, 3, 8, 0.0)
    dynamic = handler.Settings(**handler.draft_settings("dynamic chain", 3, 3, 8, 0.25)).decode_config()
    assert dynamic.tree is None and dynamic.dynamic_threshold == 0.25


@pytest.mark.parametrize("draft, message", [
    (("forest", 3, 3, 8, 0.0), "unknown draft 'forest'; choose one of: chain, tree, dynamic chain"),
    (("dynamic chain", 3, 3, 8, 0.0), "a dynamic chain needs a threshold above 0"),
    (("tree", 3, 3, 99, 0.0), r"tree nodes must be between the depth \(3\) and 21 \(top-k 3, depth 3\), got 99"),
    (("tree", 40, 3, 8, 0.0), "tree top-k must be between 1 and 16, got 40"),
    (("tree", 3, 2.5, 8, 0.0), "tree depth must be a whole number"),
])
def test_a_bad_draft_setting_is_a_clear_error(draft, message):
    with pytest.raises(UserInputError, match=message):
        handler.prepare(IMAGE, QUESTION, handler.Settings(**handler.draft_settings(*draft)))


def test_a_bad_shape_in_the_ui_becomes_an_error_box_and_nothing_runs():
    with pytest.warns(UserWarning, match="tree nodes"):
        outputs = list(wiring.run_in_ui(IMAGE, None, QUESTION, "tiny", "model", 4, 0.0, 24, 0, "tree", 3, 3, 99))
    assert len(outputs) == 1 and "msd-error" in outputs[0][2] and "tree nodes must be between" in outputs[0][2]


def test_a_tree_run_is_identical_and_drawn_live_and_in_the_inspector(tree_run):
    target_panel, speculative_panel, stats, live_tree = tree_run[:4]
    assert 'data-tokens="24"' in target_panel and 'data-tokens="24"' in speculative_panel and "identical" in stats
    steps, eos_ids = tree_run[8]
    assert any(sum(node.parent == -1 for node in step.drafted) == 3 for step in steps)  # top-k 3 at the root
    assert all(len(step.drafted) <= 8 for step in steps)
    nodes = len(steps[-1].drafted)
    assert f'data-nodes="{nodes}"' in live_tree and "msd-tree-live" in live_tree  # the last step's tree
    inspector = tree_run[10]
    assert "msd-tree-full" in inspector and inspector.index("<svg") < inspector.index("<table>")
    drawn = set(re.findall(r'class="tree-node tree-(\w+)"', "".join(inspector_html(steps, n, eos_ids)
                                                                      for n in range(1, len(steps) + 1))))
    assert {"root", "rejected", "corrected"} <= drawn  # random models seldom agree: the accepted path is browser-tested


def test_a_dynamic_chain_stops_drafting_early():
    request = handler.prepare(IMAGE, QUESTION, handler.Settings(
        drafter="model", gamma=8, max_new_tokens=24, **handler.draft_settings("dynamic chain", 3, 3, 8, 0.9)))
    *_, last = handler.stream("tiny", request)
    steps = last.comparison().speculative.steps
    assert last.comparison().identical and any(len(step.drafted) < 8 for step in steps[:-2])


def test_the_tree_sliders_start_from_the_papers_tree_where_the_preset_runs_its_released_head():
    from msd_demo.engine.tree import TreeConfig
    from msd_demo.presets.catalog import MSD_TREE

    assert handler.tree_shape("llava-1.5", "msd") == MSD_TREE == (10, 6, 59)
    ours = TreeConfig()
    assert handler.tree_shape("tiny", "msd") == (ours.top_k, ours.depth, ours.nodes)
