"""The app's handler and rendering as plain functions, on the tiny random LLaVA models (no server, no browser)."""

from pathlib import Path

import pytest

from msd_demo.engine.events import Candidate, DraftToken, Step, Token
from msd_demo.errors import UserInputError
from msd_demo.presets.catalog import HUB_PRESETS, TINY_ANSWER_TOKENS
from msd_demo.ui import handler, plots, wiring
from msd_demo.ui.examples import ASSETS_DIR, example_rows
from msd_demo.ui.gpu import gpu_seconds, on_gpu
from msd_demo.ui.inspector import first_step_to_inspect, inspector_html
from msd_demo.ui.race import race
from msd_demo.ui.render import CSS, legend_html, speculative_panel_html, target_panel_html
from msd_demo.ui.summary import cost_ratio, stats_html

pytestmark = pytest.mark.usefixtures("app_on_random_models")

IMAGE = str(ASSETS_DIR / "shapes_1.png")
QUESTION = "Describe the picture in detail."




def decode(media=IMAGE, **settings):
    request = handler.prepare(media, QUESTION, handler.Settings(**settings))
    *_, last = handler.stream(handler.default_preset(), request)
    return request, last


@pytest.fixture(scope="module")
def greedy_run():
    return decode(drafter="model", gamma=3, max_new_tokens=40)


def test_greedy_run_fills_both_panels_and_says_identical(greedy_run):
    _, snapshot = greedy_run
    comparison = snapshot.comparison()
    assert snapshot.finished and comparison.identical and len(comparison.target.token_ids) == 40
    target_html, speculative_html = target_panel_html(snapshot.target), speculative_panel_html(snapshot.speculative)
    assert 'data-tokens="40"' in target_html and 'data-tokens="40"' in speculative_html
    assert "tok-accepted" in speculative_html or "tok-rejected" in speculative_html
    assert "tok-corrected" in speculative_html or "tok-bonus" in speculative_html
    assert "tok-accepted" not in target_html and "tok-rejected" not in target_html
    stats = stats_html(comparison, greedy=True, finished=True)
    assert "identical" in stats and "speedup" in stats and "tokens/s" in stats


def test_the_race_reports_wall_clock_and_compute_speedups_apart(greedy_run):
    """Each run's wall time is the time spent in its own generator: its compute clock plus prompt building and
    loop overhead. speedup comes from the wall times, compute_speedup from the compute clocks (the race's)."""
    _, snapshot = greedy_run
    assert snapshot.target_wall_seconds >= snapshot.target_clock > 0
    assert snapshot.speculative_wall_seconds >= snapshot.speculative_clock > 0
    comparison = snapshot.comparison()
    per_token = len(comparison.target.token_ids) / len(comparison.speculative.token_ids)
    assert comparison.speedup == pytest.approx(snapshot.target_wall_seconds / snapshot.speculative_wall_seconds / per_token)
    assert comparison.compute_speedup == pytest.approx(snapshot.target_clock / snapshot.speculative_clock / per_token)
    stats = stats_html(comparison, greedy=True, finished=True)
    assert f"compute speedup: <b>{comparison.compute_speedup:.2f}×" in stats
    assert f"speedup (wall-clock): <b>{comparison.speedup:.2f}×" in stats


def test_the_race_alternates_by_compute_clock(greedy_run):
    """Replaying the recorded steps: every advance goes to the run whose clock was behind (or equal)."""
    _, final = greedy_run
    previous = None
    for snapshot in race(iter(final.target), iter(final.speculative)):
        if previous is not None and len(snapshot.target) > len(previous.target):
            assert previous.target_clock <= previous.speculative_clock or len(previous.speculative) == len(final.speculative)
        if previous is not None and len(snapshot.speculative) > len(previous.speculative):
            assert previous.speculative_clock < previous.target_clock or len(previous.target) == len(final.target)
        previous = snapshot
    assert previous.finished and previous.target == final.target and previous.speculative == final.speculative


def test_a_video_runs_and_sampling_is_reported_as_such():
    _, snapshot = decode(str(ASSETS_DIR / "video_2.mp4"), drafter="prompt-lookup", temperature=0.8, max_new_tokens=12)
    comparison = snapshot.comparison()
    assert len(comparison.speculative.token_ids) == 12
    assert "sampled" in stats_html(comparison, greedy=False, finished=True)


def hand_built_step() -> Step:
    """Three drafts, one accepted, then the target's correction; texts that must be escaped."""
    drafted = (DraftToken(5, "<b>", 0.9, 0.8, 1.0, parent=-1), DraftToken(6, " & ", 0.7, 0.1, 0.14, parent=0),
               DraftToken(7, "x\n", 0.5, 0.2, 0.4, parent=1))
    emitted = (Token(5, "<b>", "accepted", 0.8), Token(9, "\n  y", "corrected", 0.6))
    top = tuple((Candidate(9, "\n  y", 0.6), Candidate(6, " & ", 0.1)) for _ in range(4))
    return Step(1, drafted, 1, emitted, 0.001, 0.004, target_top=top, accepted_path=(0,))


def test_rejected_drafts_are_struck_where_proposed_and_text_is_escaped():
    html = speculative_panel_html((hand_built_step(),))
    assert "&lt;b&gt;" in html and " &amp; " in html and "<b>" not in html
    kinds = [part.split('"')[0] for part in html.split("tok-")[1:]]
    assert kinds == ["accepted", "rejected", "rejected", "corrected"]
    assert "x\n" in html and "\n  y" in html  # whitespace kept as is: the panel is white-space: pre-wrap
    assert "q = 0.700, p = 0.100" in html and "min(1, p/q) = 0.14" in html
    assert "white-space: pre-wrap" in CSS
    for label in ("accepted draft", "rejected draft", "target&#x27;s correction", "bonus token"):
        assert label in legend_html()


def test_inspector_shows_q_p_candidates_and_decisions():
    steps = (hand_built_step(),)
    html = inspector_html(steps, 1)
    assert "✓ accepted" in html and "✗ rejected" in html and "discarded" in html
    assert "0.900" in html and "0.800" in html and "target's correction" in html
    assert "&lt;b&gt;" in html and "<b>" not in html.replace("<b>Step", "")
    assert first_step_to_inspect(steps) == 1


def test_inspector_on_a_real_run(greedy_run):
    _, snapshot = greedy_run
    steps = snapshot.comparison().speculative.steps
    number = first_step_to_inspect(steps)
    html = inspector_html(steps, number)
    assert f"Step {number} of {len(steps)}" in html and "min(1, p/q)" in html
    assert inspector_html(steps, 10_000).count("<tr") == inspector_html(steps, len(steps)).count("<tr")


def test_figures_show_the_run(greedy_run):
    request, snapshot = greedy_run
    comparison = snapshot.comparison()
    steps = len(comparison.speculative.steps)
    acceptance = plots.acceptance_figure(comparison, request.config.gamma)
    assert len(acceptance.data[0].x) == steps and max(acceptance.data[0].y) <= request.config.gamma
    # accepted + refused + never judged = every drafted token of each step
    drafted = [sum(trace.y[i] for trace in acceptance.data) for i in range(steps)]
    assert drafted == [len(step.drafted) for step in comparison.speculative.steps]
    assert len(plots.latency_figure(comparison).data) == 2
    race_figure = plots.race_figure(comparison)
    assert [trace.y[-1] for trace in race_figure.data] == [40, 40]
    expected = plots.expected_speedup_figure(comparison, request.config.gamma)
    assert list(expected.data[1].x) == [request.config.gamma] and cost_ratio(comparison) > 0


@pytest.mark.parametrize(("media", "prompt", "settings", "message"), [
    (None, QUESTION, {}, "no image or video"),
    (IMAGE, "   ", {}, "prompt is empty"),
    (IMAGE, QUESTION, {"gamma": 0}, "gamma"),
    (IMAGE, QUESTION, {"gamma": 2.5}, "whole number"),
    (IMAGE, QUESTION, {"temperature": 9}, "temperature"),
    (IMAGE, QUESTION, {"max_new_tokens": 10**6}, "max new tokens"),
    (IMAGE, QUESTION, {"drafter": "oracle"}, "unknown drafter"),
    (IMAGE, QUESTION, {"preset": "huge"}, "unknown preset"),
    ("broken", QUESTION, {}, "not a readable image"),
])
def test_bad_input_is_a_clear_error(tmp_path, media, prompt, settings, message):
    if media == "broken":
        media = tmp_path / "broken.png"
        media.write_bytes(b"not a png at all")
    with pytest.raises(UserInputError, match=message):
        handler.prepare(media, prompt, handler.Settings(**settings))


@pytest.mark.filterwarnings("ignore:no image or video")  # gr.Warning outside a request: a Python warning
def test_the_ui_handler_turns_bad_input_into_an_error_box():
    from msd_demo.ui import wiring

    outputs = list(wiring.run_in_ui(None, None, QUESTION, "tiny", "model", 4, 0.0, 16, 0))
    assert len(outputs) == 1 and "msd-error" in outputs[0][2] and "no image or video" in outputs[0][2]


def test_the_ui_handler_streams_then_finishes():
    from msd_demo.ui import wiring

    outputs = list(wiring.run_in_ui(IMAGE, None, QUESTION, "tiny", "prompt-lookup", 4, 0.0, 24, 0))
    final = outputs[-1]
    assert 'data-tokens="24"' in final[0] and 'data-tokens="24"' in final[1] and "identical" in final[2]
    assert all(figure is not None for figure in final[4:8]) and "Step" in final[10]


def test_examples_point_at_shipped_files():
    rows = example_rows()
    assert any(image for image, _, _ in rows) and any(video for _, video, _ in rows)
    assert all(Path(image or video).is_file() and prompt for image, video, prompt in rows)


def test_gpu_time_grows_with_tokens_and_is_a_no_op_off_zero_gpu():
    assert gpu_seconds(1024) > gpu_seconds(128) > gpu_seconds(1) > 0

    def generate():
        yield 1

    assert on_gpu(duration=lambda: 60)(generate) is generate


def test_the_verdict_says_where_greedy_outputs_differ_and_names_reduced_precision():
    from msd_demo.measure.metrics import Comparison, RunStats
    from msd_demo.ui.summary import outputs_verdict

    def comparison(speculative_ids):
        return Comparison(RunStats([5, 6, 7, 8], 0.1, 0.1, ()), RunStats(speculative_ids, 0.1, 0.1, ()))

    assert outputs_verdict(comparison([5, 6, 7, 8]), greedy=True, finished=True) == "identical"
    assert outputs_verdict(comparison([5, 6, 9, 8]), greedy=True, finished=True) == "differs after token 2"
    assert outputs_verdict(comparison([5, 6, 7, 8]), greedy=True, finished=True, precision="bfloat16") == "identical (bfloat16)"
    bf16 = outputs_verdict(comparison([5, 9]), greedy=True, finished=False, precision="bfloat16")
    assert bf16.startswith("differs after token 1 (bfloat16:") and "near-tie" in bf16
    assert outputs_verdict(comparison([5, 9]), greedy=False, finished=True).startswith("sampled")


def test_the_max_new_tokens_default_follows_the_preset():
    """The tiny target's grounded answers are long (a motion answer lists two frames): its default leaves room
    for them; a hub preset keeps 128, which ZeroGPU's duration request grows with."""
    assert wiring.answer_tokens("tiny") == TINY_ANSWER_TOKENS > 128
    assert all(wiring.answer_tokens(preset.name) == 128 for preset in HUB_PRESETS)
