"""A real browser (Playwright + Debian's chromium) on the launched app: pick an example, run, watch.

MSD_SCREENSHOT=1 saves docs/screenshot.png (MSD_SCREENSHOT_MODELS_DIR: take it with other models, e.g. models/).
"""

import os
import time
from pathlib import Path

import pytest

from tests.forward_calls import recorded_forwards
from tests.launch import launched_app

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def app_url(llava_dir):
    models = os.environ.get("MSD_SCREENSHOT_MODELS_DIR") or str(llava_dir)
    with launched_app(models) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(app_url)
        yield page
        browser.close()


def set_max_new_tokens(page, value: int):
    number = page.locator("input[aria-label='number input for max new tokens']")
    number.fill(str(value))
    number.press("Tab")


def test_an_example_runs_with_coloured_tokens_and_plots(page):
    page.get_by_text("Describe the picture in detail.").first.click()
    page.wait_for_function("document.querySelector('textarea')?.value === 'Describe the picture in detail.'", timeout=15_000)
    set_max_new_tokens(page, 128)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#stats .msd-stats[data-finished=true]:has-text('identical')", timeout=90_000)
    speculative = page.locator("#speculative-panel")
    assert speculative.locator(".tok-accepted, .tok-rejected").count() > 0
    assert speculative.locator(".tok-corrected, .tok-bonus").count() > 0
    assert page.locator("#target-panel .tok-target").count() > 5
    assert page.locator("#speculative-panel .tok-rejected").first.evaluate(
        "e => getComputedStyle(e).textDecorationLine") == "line-through"
    for plot in ("acceptance-plot", "latency-plot", "race-plot", "expected-plot"):
        page.wait_for_selector(f"#{plot} .js-plotly-plot", timeout=30_000)
    if os.environ.get("MSD_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)


REPLAY_POSITION = "input[aria-label='number input for replay position (steps of both runs)']"


def panel_numbers(page, attribute: str) -> list[int]:
    """data-tokens or data-steps of the target and speculative panels."""
    return [int(page.locator(f"#{run}-panel .msd-panel").get_attribute(attribute)) for run in ("target", "speculative")]


def replay_position(page) -> int:
    return int(float(page.locator(REPLAY_POSITION).input_value()))


def test_a_finished_run_replays_at_a_tenth_of_its_speed_and_step_by_step(page):
    page.get_by_text("Describe this image.").first.click()
    set_max_new_tokens(page, 120)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#target-panel .msd-panel[data-tokens='120']", timeout=90_000)
    # The speculative run may still be going (on the test's random models nearly every draft is rejected): a
    # wait, not a speed check, so it is generous enough for a busy 2-core machine.
    page.wait_for_selector("#stats .msd-stats[data-finished=true]:has-text('identical')", timeout=90_000)
    steps = sum(panel_numbers(page, "data-steps"))
    page.wait_for_selector(f"#replay-status:has-text('step {steps} of {steps}')", timeout=10_000)
    final_tokens, all_steps = sum(panel_numbers(page, "data-tokens")), replay_position(page)
    assert all_steps == steps > 2

    page.get_by_label("1/10", exact=True).check()
    page.get_by_role("button", name="▶ Replay").click()
    page.wait_for_selector("#replay-status:has-text('Replay playing')", timeout=10_000)
    shown, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline and "Replay playing" in page.locator("#replay-status").inner_text():
        shown.append(sum(panel_numbers(page, "data-tokens")))
        page.wait_for_timeout(100)
    shown.append(sum(panel_numbers(page, "data-tokens")))
    print(f"replay at 1/10: {len(shown)} samples, tokens shown {shown}")
    assert shown == sorted(shown) and shown[0] < final_tokens and shown[-1] == final_tokens
    assert len(set(shown)) >= 4, "the panels should grow in several visible steps"

    page.get_by_label("1/100", exact=True).check()  # slow enough that Pause lands before the end
    page.get_by_role("button", name="▶ Replay").click()  # from the end: starts over
    page.wait_for_selector("#replay-status:has-text('Replay playing')", timeout=10_000)
    page.get_by_role("button", name="Pause", exact=True).click()
    page.wait_for_selector("#replay-status:has-text('Replay paused')", timeout=10_000)
    start = replay_position(page)
    assert start < all_steps
    for moved in (1, 2, 3):
        page.get_by_role("button", name="Step ▶").click()
        page.wait_for_function(f"Number(document.querySelector(\"{REPLAY_POSITION}\").value) === {start + moved}",
                               timeout=10_000)
        page.wait_for_function(  # the panels show exactly the steps the position counts
            "n => [...document.querySelectorAll('.msd-panel')].reduce((sum, p) => sum + Number(p.dataset.steps), 0) === n",
            arg=start + moved, timeout=10_000)
        assert page.locator("#replay-status").inner_text().startswith(f"Replay paused: step {start + moved} of {all_steps}")
    # The speculative run's steps after its prefill; none yet when Pause landed before even its prefill was shown.
    decode_steps = max(panel_numbers(page, "data-steps")[1] - 1, 0)
    page.get_by_text("Step inspector").click()
    expected = f"Step {decode_steps} of" if decode_steps else "has not reached the first speculative step"
    page.wait_for_selector(f".msd-inspector:has-text('{expected}')", timeout=10_000)
    page.get_by_role("button", name="◀ Step").click()
    page.wait_for_function(f"Number(document.querySelector(\"{REPLAY_POSITION}\").value) === {start + 2}", timeout=10_000)


def test_bad_input_shows_a_message_and_the_app_keeps_serving(page):
    page.get_by_label("prompt", exact=True).fill("   ")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#stats .msd-error:has-text('prompt is empty')", timeout=30_000)
    page.get_by_text("In which direction does the green circle move?").first.click()
    set_max_new_tokens(page, 16)  # what is tested is that the app still serves, not a long run on a busy machine
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#stats .msd-stats[data-finished=true]:has-text('identical')", timeout=90_000)


def test_stop_ends_a_long_run_and_the_app_keeps_serving(page, llava_dir):
    from msd_demo.presets.lineup import load_lineup

    page.get_by_text("Describe this image.").first.click()
    set_max_new_tokens(page, 1024)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#speculative-panel .tok-rejected, #speculative-panel .tok-accepted", timeout=60_000)
    with recorded_forwards(load_lineup("tiny", str(llava_dir)).target.model) as forwards:  # the app's own model
        page.get_by_role("button", name="Stop", exact=True).click()
        page.wait_for_timeout(1_000)
        tokens = page.locator("#target-panel .msd-panel").get_attribute("data-tokens")
        computed = len(forwards)
        page.wait_for_timeout(1_000)
        assert len(forwards) == computed, "the engine kept computing after Stop"
    assert page.locator("#target-panel .msd-panel").get_attribute("data-tokens") == tokens != "1024"
    set_max_new_tokens(page, 16)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#target-panel .msd-panel[data-tokens='16']", timeout=60_000)
