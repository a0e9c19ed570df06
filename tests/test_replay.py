"""Replaying a finished comparison (msd_demo/ui/replay.py and its event functions), on a real run of the tiny
random LLaVA models: what is visible at a replay time or a step, and that the views follow. No model runs here
after the recorded one."""

import time
from dataclasses import replace

import pytest

from msd_demo.engine.events import Candidate, DraftToken, Step, Token
from msd_demo.ui import handler, replay_store, replay_wiring
from msd_demo.ui.examples import ASSETS_DIR
from msd_demo.ui.inspector import inspector_html
from msd_demo.ui.race import compute_clock
from msd_demo.ui.render import speculative_panel_html, target_panel_html
from msd_demo.ui.replay import FIGURE_SECONDS, SPEEDS, Recording, Replay

GAMMA = 3


@pytest.fixture(scope="module")
def finished(llava_dir):
    """The last snapshot of a real greedy comparison."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MSD_MODELS_DIR", str(llava_dir))
        request = handler.prepare(str(ASSETS_DIR / "shapes_1.png"), "Describe the picture in detail.",
                                  handler.Settings(drafter="model", gamma=GAMMA, max_new_tokens=40))
        *_, last = handler.stream(handler.default_preset(), request)
        yield last


@pytest.fixture(scope="module")
def recording(finished):
    return Recording(finished.target, finished.speculative, GAMMA, greedy=True)


def tokens(steps) -> int:
    return sum(len(step.emitted) for step in steps)


def test_steps_appear_in_the_order_their_runs_compute_clocks_reach_them(recording, finished):
    assert len(recording.frames) == len(finished.target) + len(finished.speculative)
    clocks = [frame.clock for frame in recording.frames]
    assert clocks == sorted(clocks) and recording.duration == max(finished.target_clock, finished.speculative_clock)
    for position in range(len(recording.frames) + 1):
        snapshot = recording.snapshot(position)
        assert len(snapshot.target) + len(snapshot.speculative) == position
        assert snapshot.target == finished.target[: len(snapshot.target)]
        assert snapshot.speculative == finished.speculative[: len(snapshot.speculative)]
        # Every visible step ended by the position's compute time; the next one of each run ends later.
        at = recording.clock_at(position)
        assert compute_clock(snapshot.target) <= at + 1e-12 and compute_clock(snapshot.speculative) <= at + 1e-12
    assert recording.snapshot(0).target == () and recording.snapshot(0).speculative == ()
    whole = recording.snapshot(len(recording.frames))
    assert whole.finished and whole.comparison().target.token_ids == finished.comparison().target.token_ids
    assert whole.comparison().speculative.token_ids == finished.comparison().speculative.token_ids


def test_at_a_tenth_of_the_speed_the_replay_takes_ten_times_the_compute_time(recording):
    replay = Replay.at_end(recording).play(now=100.0, speed=SPEEDS["1/10"])
    assert replay.position == 0 and replay.playing  # a replay at the end starts again from the beginning
    run_seconds = recording.duration / SPEEDS["1/10"]
    positions = [replay.advanced(100.0 + run_seconds * share).position for share in (0.1, 0.3, 0.6, 0.9)]
    assert positions == sorted(positions) and positions[0] < positions[-1] < len(recording.frames)
    halfway = replay.advanced(100.0 + run_seconds / 2)
    assert halfway.position == recording.position_at(recording.duration / 2) and halfway.playing
    ended = replay.advanced(100.0 + run_seconds * 1.01)
    assert ended.position == len(recording.frames) and not ended.playing and ended.snapshot().finished


def test_a_hundredth_is_ten_times_slower_than_a_tenth(recording):
    at = 100.0 + recording.duration / SPEEDS["1/10"] / 2
    tenth = Replay.at_end(recording).play(100.0, SPEEDS["1/10"]).advanced(at)
    hundredth = Replay.at_end(recording).play(100.0, SPEEDS["1/100"]).advanced(at)
    assert hundredth.clock == pytest.approx(tenth.clock / 10)
    assert hundredth.position <= tenth.position


def test_pause_holds_the_position_and_play_goes_on_from_there(recording):
    playing = Replay.at_end(recording).play(0.0, SPEEDS["1/10"])
    paused = playing.pause(now=recording.duration / SPEEDS["1/10"] / 2)
    assert not paused.playing and paused.advanced(1e9) == paused
    resumed = paused.play(now=500.0, speed=SPEEDS["1/10"])
    assert resumed.position == paused.position and resumed.clock == paused.clock
    # A new speed keeps what was already replayed (a quarter of the run more, here).
    quarter = recording.duration / SPEEDS["1/10"] / 4
    slower = resumed.advanced(500.0 + quarter).with_speed(500.0 + quarter, SPEEDS["1/100"])
    assert slower.clock == pytest.approx(paused.clock + recording.duration / 4) and slower.speed == SPEEDS["1/100"]
    assert slower.advanced(500.0 + 2 * quarter).clock == pytest.approx(slower.clock + recording.duration / 40)


def test_stepping_moves_one_step_of_either_run_and_stops_at_the_ends(recording):
    replay = Replay.at_end(recording).seek(0)
    seen = []
    for position in range(1, len(recording.frames) + 1):
        replay = replay.seek(replay.position + 1)
        snapshot = replay.snapshot()
        seen.append((len(snapshot.target), len(snapshot.speculative)))
        assert replay.position == position and not replay.playing
        assert replay.clock == recording.frames[position - 1].clock
    assert all(sum(later) - sum(earlier) == 1 for earlier, later in zip(seen, seen[1:]))
    assert replay.seek(replay.position + 1).position == len(recording.frames)
    assert replay.seek(-5).position == 0


def test_the_inspector_follows_the_latest_speculative_step(recording):
    replay = Replay.at_end(recording)
    assert replay.inspected_step() == len(recording.decode_steps)
    for position in range(len(recording.frames) + 1):
        shown = replay.seek(position)
        visible = [step for step in shown.snapshot().speculative if not step.is_prefill]
        assert shown.inspected_step() == len(visible)


def test_the_replay_views_follow_the_position(recording):
    """The event functions the app wires (session None here): views at a step, a tick, a late tick, pause."""
    replay_store.keep(None, Replay.at_end(recording))
    position = next(i for i, frame in enumerate(recording.frames, 1)
                    if frame.run == "speculative" and recording.snapshot(i).comparison().speculative.steps)
    outputs = replay_wiring.seek(position)
    assert len(outputs) == replay_wiring.OUTPUTS
    target_panel, speculative_panel, stats, live_tree = outputs[:4]
    snapshot = recording.snapshot(position)
    assert f'data-tokens="{tokens(snapshot.speculative)}"' in speculative_panel
    assert f'data-steps="{len(snapshot.target)}"' in target_panel
    assert f"replay: step {position} of {len(recording.frames)}" in stats
    latest = snapshot.speculative[-1]  # the live view draws the replay position's latest speculative step
    assert f'data-nodes="{len(latest.drafted)}"' in live_tree and 'class="tree-node tree-root"' in live_tree
    number = Replay.at_end(recording).seek(position).inspected_step()
    assert f"Step {number} of {len(recording.decode_steps)}" in outputs[9]
    assert outputs[10]["value"] == position and outputs[11].startswith("Replay paused")
    assert replay_wiring.step_forward()[10]["value"] == position + 1
    assert replay_wiring.step_back()[10]["value"] == position
    replay_wiring.seek(len(recording.frames))
    player = replay_wiring.play("1/10")
    started = next(player)
    assert started[10]["value"] == 0 and started[11].startswith("Replay playing")  # from the end, play starts over
    # The player's next update, as if Play had been pressed half the replay's length ago: about half the run.
    with replay_store.held(None) as slot:
        slot.replay = replace(slot.replay, playing_since=time.monotonic() - recording.duration / SPEEDS["1/10"] / 2,
                              figures_drawn_at=-FIGURE_SECONDS)
    ticked = next(player)
    assert 0 < ticked[10]["value"] < len(recording.frames) and ticked[4] is not None
    # Pause (also the Stop button's): the player ends at its next turn, and the replay stays where it was paused.
    replay_wiring.pause()
    assert next(player)[11].startswith("Replay paused") and next(player, "ended") == "ended"
    with replay_store.held(None) as slot:
        assert not slot.replay.playing and slot.replay.position >= ticked[10]["value"]  # it moved on till the pause


def test_one_replay_per_session_plays_at_a_time(recording):
    replay_store.keep(None, Replay.at_end(recording))
    first = replay_wiring.play("1/100")
    next(first)
    second = replay_wiring.play("1/100")
    assert next(second)[11].startswith("Replay playing")
    assert next(first, "ended") == "ended"  # the older player stops; the newer one goes on
    assert next(second)[11].startswith("Replay playing")
    moved = replay_wiring.step_forward()  # a step pauses, and ends the player, which shows the same view last
    assert next(second)[:3] == moved[:3] and next(second, "ended") == "ended"


def test_without_a_finished_run_the_replay_says_so():
    replay_wiring.forget()
    outputs = list(replay_wiring.play("1/10"))
    assert len(outputs) == 1 and len(outputs[0]) == replay_wiring.OUTPUTS and outputs[0][11] == replay_wiring.NO_RUN
    assert replay_wiring.step_forward()[11] == replay_wiring.NO_RUN


EOS = 2


def eos_step() -> Step:
    """Two accepted drafts, the second one EOS; the target's top candidate at the next position is EOS too."""
    drafted = (DraftToken(7, " star", 0.9, 0.95, 1.0, parent=-1), DraftToken(EOS, "</s>", 0.8, 0.9, 1.0, parent=0))
    emitted = (Token(7, " star", "accepted", 0.95), Token(EOS, "</s>", "accepted", 0.9))
    top = tuple((Candidate(EOS, "</s>", 0.9), Candidate(8, ".", 0.05)) for _ in range(3))
    return Step(1, drafted, 2, emitted, 0.001, 0.002, target_top=top, accepted_path=(0, 1))


def test_eos_is_a_marked_chip_not_its_text():
    step = eos_step()
    eos_ids = frozenset({EOS})
    for html in (speculative_panel_html((step,), eos_ids), target_panel_html((step,), eos_ids),
                 inspector_html((step,), 1, eos_ids)):
        assert "&lt;/s&gt;" not in html and "</s>" not in html
        assert 'tok-eos" title="end of sequence' in html and ">EOS</span>" in html
    assert 'class="tok tok-accepted tok-eos"' in speculative_panel_html((step,), eos_ids)
    assert "&lt;/s&gt;" in speculative_panel_html((step,))  # without EOS ids the text is shown, escaped


def test_the_tiny_targets_eos_id_is_known(llava_lineup, tokenizer):
    assert tokenizer.eos_token_id in llava_lineup.target.eos_token_ids
