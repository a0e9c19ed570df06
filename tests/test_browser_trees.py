"""A real browser (Playwright + Debian's chromium) on the app with the shipped tiny models: a run with draft
trees, its trees drawn live beside the speculative panel and in the step inspector, coloured by fate.

The shipped models, not the random ones: only a trained drafter gets nodes accepted, and the accepted path is
what the view is for."""

from pathlib import Path

import pytest

from tests.launch import launched_app
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, set_max_new_tokens

MODELS = Path(__file__).resolve().parents[1] / "models"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with launched_app(str(MODELS)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(url)
        yield page
        browser.close()


def fill(page, label: str, value: int):
    number = page.locator(f"input[aria-label='number input for {label}']")
    number.fill(str(value))
    number.press("Tab")


def test_a_tree_run_draws_each_steps_tree_live_and_in_the_inspector(page):
    page.get_by_text("Describe the picture in detail.").first.click()
    page.wait_for_function("document.querySelector('textarea')?.value === 'Describe the picture in detail.'", timeout=15_000)
    assert page.locator("#live-tree").get_by_text("draft tree appears here").is_visible()
    page.locator("#draft-choice").get_by_label("tree", exact=True).check()
    fill(page, "tree top-k (children per node)", 3)  # the shape's controls appear with the choice
    fill(page, "tree nodes (budget)", 12)
    set_max_new_tokens(page, 48)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#stats .msd-stats[data-finished=true]:has-text('identical')", timeout=90_000)

    live = page.locator("#live-tree .msd-tree-live")
    assert live.get_attribute("data-nodes") is not None and live.locator("svg .tree-node").count() > 2
    assert live.locator("svg").bounding_box()["width"] <= page.locator("#speculative-panel").bounding_box()["width"] + 1

    page.get_by_text("Step inspector").click()
    tree = page.locator(".msd-inspector .msd-tree-full")
    tree.wait_for(timeout=10_000)
    assert tree.get_attribute("data-nodes") == "12"
    colours = {kind: tree.locator(f"g.tree-{kind} rect").first.evaluate("e => getComputedStyle(e).fill")
               for kind in ("accepted", "rejected")}
    assert colours == {"accepted": "rgb(201, 242, 208)", "rejected": "rgb(255, 214, 214)"}  # green, red
    blue = tree.locator("g.tree-corrected rect, g.tree-bonus rect").first
    assert blue.evaluate("e => getComputedStyle(e).fill") == "rgb(212, 226, 255)"
    hover = tree.locator("g.tree-accepted title").first.text_content()
    assert "q = " in hover and "p = " in hover and "min(1, p/q)" in hover
