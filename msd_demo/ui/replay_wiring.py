"""The replay's event functions: the session's Replay (replay.py, kept in replay_store.py) -> gradio outputs.

Play streams: every TICK_SECONDS it moves the replay to where the wall clock says it should be and redraws
when a step was crossed. Pause, Stop, a step button, the slider or a new run end it. Nothing here runs a model.
(A gr.Timer would be simpler, but gradio 6.31's frontend never starts a timer that an event activates.)

Outputs, in this order (replay_outputs in app.py): target panel, speculative panel, stats, live tree, 4 figures,
inspector step slider, inspector, replay position slider, replay description.
"""

import time
from collections.abc import Iterator
from dataclasses import replace

import gradio as gr

from msd_demo.ui import replay_store, views
from msd_demo.ui.inspector import inspector_html
from msd_demo.ui.replay import SPEEDS, Replay

PLAY, PAUSE = "▶ Replay", "Pause"  # the buttons' labels (no ⏸: many fonts lack it)
TICK_SECONDS = 0.2  # how often a playing replay checks whether a step was crossed
NOT_YET = '<div class="msd-inspector msd-note">The replay has not reached the first speculative step yet.</div>'
NO_RUN = "Run a comparison first: the replay shows the last finished run."
OUTPUTS = 12


def play(speed: str, gradio_request: gr.Request = None) -> Iterator[tuple]:
    """Play from where the replay stands (from the start when at the end).

    This generator redraws the views every TICK_SECONDS until the replay ends or anything else (Pause, a step,
    the slider, Stop, a new run, another Play) changes it: one replay per session.
    """
    session = _session(gradio_request)
    with replay_store.held(session) as slot:
        if slot.replay is None:
            yield _no_run()
            return
        now = time.monotonic()
        slot.player += 1
        player, first = slot.player, _show(slot, slot.replay.play(now, SPEEDS[speed]), now)
    yield first
    while True:
        time.sleep(TICK_SECONDS)
        with replay_store.held(session) as slot:
            if slot.replay is None or slot.player != player:
                return  # a new run or another Play took over
            # Paused or moved meanwhile: the last view comes from here too, so no update of ours lands after it.
            outputs = _tick(slot) if slot.replay.playing else _show(slot, slot.replay, time.monotonic())
            still_playing = slot.replay.playing
        yield outputs
        if not still_playing:
            return


def _tick(slot: replay_store.Slot) -> tuple:
    """The views where the wall clock says the replay is; only the description when no step was crossed."""
    now = time.monotonic()
    moved = slot.replay.advanced(now)
    if moved.position == slot.replay.position and moved.playing:
        slot.replay = moved
        return (gr.skip(),) * (OUTPUTS - 1) + (moved.describe(),)
    return _show(slot, moved, now)


def step_forward(gradio_request: gr.Request = None):
    return step(1, gradio_request)


def step_back(gradio_request: gr.Request = None):
    return step(-1, gradio_request)


def step(steps: int, gradio_request: gr.Request = None):
    """steps forward (negative: back), paused."""
    with replay_store.held(_session(gradio_request)) as slot:
        if slot.replay is None:
            return _no_run()
        return _show(slot, slot.replay.seek(slot.replay.position + steps), time.monotonic())


def seek(position, gradio_request: gr.Request = None):
    with replay_store.held(_session(gradio_request)) as slot:
        if slot.replay is None:
            return _no_run()
        return _show(slot, slot.replay.seek(int(position or 0)), time.monotonic())


def set_speed(speed: str, gradio_request: gr.Request = None) -> None:
    """A new speed from now on (nothing visible changes at this instant)."""
    with replay_store.held(_session(gradio_request)) as slot:
        if slot.replay is not None:
            slot.replay = slot.replay.with_speed(time.monotonic(), SPEEDS[speed])


def pause(gradio_request: gr.Request = None) -> None:
    """Pause (and the Stop button): the replay stops where it is; the player shows that at its next turn
    (within TICK_SECONDS) and ends."""
    with replay_store.held(_session(gradio_request)) as slot:
        if slot.replay is not None and slot.replay.playing:
            slot.replay = slot.replay.pause(time.monotonic())


def forget(gradio_request: gr.Request = None) -> None:
    """A new run starts: the last run's replay ends (its panels are about to be replaced)."""
    replay_store.keep(_session(gradio_request), None)


def end_session(gradio_request: gr.Request = None) -> None:
    replay_store.forget(_session(gradio_request))


def _show(slot: replay_store.Slot, replay: Replay, now: float) -> tuple:
    """Every view at the replay's position (the figures only when due); the slot keeps the replay."""
    recording, snapshot = replay.recording, replay.snapshot()
    figures = (gr.skip(),) * 4
    if replay.figures_due(now):
        figures = views.figures(snapshot, recording.gamma)
        replay = replace(replay, figures_drawn_at=now)
    slot.replay = replay
    note = f"replay: step {replay.position} of {len(recording.frames)}"
    number = replay.inspected_step()
    inspector = inspector_html(recording.decode_steps, number, recording.eos_ids) if number else NOT_YET
    position_slider = gr.update(maximum=max(len(recording.frames), 1), value=replay.position)
    controls = (position_slider, replay.describe())
    return views.panels(snapshot, recording, note) + figures + (gr.update(value=max(number, 1)), inspector) + controls


def _no_run() -> tuple:
    return (gr.skip(),) * (OUTPUTS - 1) + (NO_RUN,)


def _session(gradio_request: gr.Request | None) -> str | None:
    return getattr(gradio_request, "session_hash", None)
