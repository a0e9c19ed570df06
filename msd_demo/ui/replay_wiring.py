"""The replay's event functions: a Replay (replay.py) in the session's state -> gradio outputs.

Play starts the session's one timer (gr.Timer: one per page, so a session never has two replays running);
each tick moves the replay to where the wall clock says it should be and redraws only when a step was
crossed. Pause, Stop, a step button, the slider or a new run stop the timer. Nothing here runs a model.

Outputs, in this order (REPLAY_OUTPUTS in app.py): target panel, speculative panel, stats, 4 figures,
inspector step slider, inspector, replay state, replay position slider, replay description, timer, play button.
"""

import time
from dataclasses import replace

import gradio as gr

from msd_demo.ui import wiring
from msd_demo.ui.inspector import inspector_html
from msd_demo.ui.replay import SPEEDS, Replay

PLAY, PAUSE = "▶ Replay", "⏸ Pause"
TICK_SECONDS = 0.2  # how often a playing replay checks whether a step was crossed
NOT_YET = '<div class="msd-inspector msd-note">The replay has not reached the first speculative step yet.</div>'
NO_RUN = "Run a comparison first: the replay shows the last finished run."


def toggle_play(replay: Replay | None, speed: str):
    """Play from where the replay stands (from the start when at the end), or pause a playing one."""
    if replay is None:
        return _no_run()
    now = time.monotonic()
    if replay.playing:
        return _shown(replay.pause(now), now)
    return _shown(replay.play(now, SPEEDS[speed]), now)


def tick(replay: Replay | None):
    if replay is None or not replay.playing:
        return (gr.skip(),) * 12 + (gr.Timer(active=False), PLAY)
    now = time.monotonic()
    moved = replay.advanced(now)
    if moved.position == replay.position and moved.playing:
        return (gr.skip(),) * 9 + (moved, gr.skip(), moved.describe(), gr.skip(), gr.skip())
    return _shown(moved, now)


def step(replay: Replay | None, steps: int):
    """One step forward (steps = 1) or back (-1), paused."""
    if replay is None:
        return _no_run()
    return _shown(replay.seek(replay.position + steps), time.monotonic())


def seek(replay: Replay | None, position):
    return _no_run() if replay is None else _shown(replay.seek(int(position or 0)), time.monotonic())


def set_speed(replay: Replay | None, speed: str):
    """A new speed from now on (state only: nothing visible changes at this instant)."""
    if replay is None:
        return gr.skip()
    return replay.with_speed(time.monotonic(), SPEEDS[speed])


def pause(replay: Replay | None):
    """The Stop button: the replay stops where it is. Outputs: replay state, timer, play button."""
    paused = replay.pause(time.monotonic()) if replay is not None else None
    return paused, gr.Timer(active=False), PLAY


def forget(_replay: Replay | None = None):
    """A new run starts: the replay of the last one ends (its panels are about to be replaced)."""
    return None, gr.Timer(active=False), PLAY


def _shown(replay: Replay, now: float) -> tuple:
    """Every view at the replay's position (the figures only when due)."""
    recording, snapshot = replay.recording, replay.snapshot()
    if replay.figures_due(now):
        figures = wiring.figures(snapshot, recording.gamma)
        replay = replace(replay, figures_drawn_at=now)
    else:
        figures = (gr.skip(),) * 4
    note = f"replay: step {replay.position} of {len(recording.frames)}"
    number = replay.inspected_step()
    inspector = inspector_html(recording.decode_steps, number, recording.eos_ids) if number else NOT_YET
    step_slider = gr.update(value=max(number, 1))
    position_slider = gr.update(maximum=max(len(recording.frames), 1), value=replay.position)
    controls = (replay, position_slider, replay.describe(), gr.Timer(active=replay.playing),
                PAUSE if replay.playing else PLAY)
    return wiring.panels(snapshot, recording, note) + figures + (step_slider, inspector) + controls


def _no_run() -> tuple:
    return (gr.skip(),) * 11 + (NO_RUN,) + (gr.skip(),) * 2
