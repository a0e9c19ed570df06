"""Stop and cancel: once asked to stop, a run computes at most the step already under way, and the app serves on."""

import threading
import time

import pytest

from msd_demo.ui import handler, stop, wiring
from msd_demo.ui.examples import ASSETS_DIR
from tests.forward_calls import recorded_forwards

pytestmark = pytest.mark.usefixtures("app_on_random_models")

IMAGE = str(ASSETS_DIR / "shapes_1.png")
QUESTION = "Describe the picture in detail."
LONG = dict(drafter="model", gamma=3, max_new_tokens=1024)  # the tiny random models rarely stop early




@pytest.fixture(scope="module")
def target_model(llava_dir):
    return handler.lineup_for(handler.default_preset()).target.model


def test_stop_from_another_thread_ends_computation_within_one_step(target_model):
    """As in the app: the run is consumed through the throttle on one thread, Stop arrives from another."""
    request = handler.prepare(IMAGE, QUESTION, handler.Settings(**LONG))
    signal = threading.Event()
    snapshots = []

    def consume():
        for snapshot in wiring.throttled(handler.stream(handler.default_preset(), request, signal), wiring.PANEL_INTERVAL):
            snapshots.append(snapshot)

    with recorded_forwards(target_model) as forwards:
        worker = threading.Thread(target=consume)
        worker.start()
        while len(forwards) < 40:  # well past the warm-up, both runs under way
            time.sleep(0.005)
        signal.set()
        stopped_at, forwards_at_stop = time.perf_counter(), len(forwards)
        worker.join(timeout=10)
        ended_after = time.perf_counter() - stopped_at
    assert not worker.is_alive()
    assert len(forwards) - forwards_at_stop <= 1, "more than the step under way was computed after Stop"
    assert not snapshots or not snapshots[-1].finished
    print(f"stop -> run ended: {ended_after * 1e3:.1f} ms, target forwards after stop: {len(forwards) - forwards_at_stop}")
    assert ended_after < 1.0


def test_closing_the_ui_handler_stops_the_engine(target_model):
    """What gradio's cancel does: close the event's generator after an update; no forward pass follows."""
    updates = wiring.run_in_ui(None, IMAGE, QUESTION, handler.default_preset(), "model", 3, 0.0, 1024, 0)
    with recorded_forwards(target_model) as forwards:
        for _ in range(3):
            next(updates)
        assert handler.runs_in_progress() == 1
        updates.close()
        closed_at = len(forwards)
        # Closing is synchronous: the run has ended (its stream's clean-up ran) before close() returns.
        assert handler.runs_in_progress() == 0 and stop.running_sessions() == 0
    assert closed_at > 0 and len(forwards) == closed_at


def test_the_stop_button_reaches_the_run_of_its_own_session_only(target_model):
    class Session:
        def __init__(self, session_hash):
            self.session_hash = session_hash

    mine = wiring.run_in_ui(None, IMAGE, QUESTION, handler.default_preset(), "model", 3, 0.0, 1024, 0,
                             gradio_request=Session("mine"))
    with recorded_forwards(target_model) as forwards:
        next(mine)
        wiring.stop_run(Session("someone else"))
        next(mine)  # still running: another session's Stop is not ours
        wiring.stop_run(Session("mine"))
        stopped_at = len(forwards)
        remaining = list(mine)  # the run ends at once: at most the step under way, and no more updates
    assert len(forwards) - stopped_at <= 1 and len(remaining) <= 1
    assert stop.running_sessions() == 0
