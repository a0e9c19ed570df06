"""Replaying a finished comparison slowly enough to follow: at 1/10 or 1/100 of its measured speed, or one
step at a time. Pure: the recorded Steps and their measured seconds in, what is visible out; no model runs.

The replay clock is a compute clock, like the race's (race.py): a step of either run becomes visible when
its run's own clock (prefill, draft and verify seconds summed) reaches the end of that step. The replay
position counts the steps of both runs made visible so far, in that order.
"""

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from functools import cached_property

from msd_demo.engine.events import Step
from msd_demo.ui.race import RaceSnapshot

SPEEDS = {"1/10": 0.1, "1/100": 0.01}  # replay clock / wall clock
FIGURE_SECONDS = 0.6  # playing, the figures (heavier than the panels: ~50 ms each) are redrawn at most this often


@dataclass(frozen=True)
class Frame:
    """One step of one run, at the compute time it ended."""

    run: str  # "target" or "speculative"
    clock: float  # seconds on that run's own compute clock


@dataclass(frozen=True)
class Recording:
    """A finished comparison as it was measured, with what its views need."""

    target: tuple[Step, ...]
    speculative: tuple[Step, ...]
    gamma: int
    greedy: bool
    precision: str | None = None
    eos_ids: frozenset[int] = frozenset()

    @cached_property
    def frames(self) -> tuple[Frame, ...]:
        """Every step of both runs in the order they end on their compute clocks (target first on a tie)."""
        frames = [*_run_frames("target", self.target), *_run_frames("speculative", self.speculative)]
        return tuple(sorted(frames, key=lambda frame: (frame.clock, frame.run != "target")))

    @cached_property
    def decode_steps(self) -> tuple[Step, ...]:
        """The speculative run's steps after the prefill: the ones the step inspector numbers."""
        return tuple(step for step in self.speculative if not step.is_prefill)

    @cached_property
    def frame_clocks(self) -> tuple[float, ...]:
        return tuple(frame.clock for frame in self.frames)

    @property
    def duration(self) -> float:
        return self.frame_clocks[-1] if self.frames else 0.0

    def position_at(self, clock: float) -> int:
        """How many steps have ended by this compute time."""
        return bisect_right(self.frame_clocks, clock)

    def clock_at(self, position: int) -> float:
        """The compute time at which the position-th step ends (0 before any)."""
        return self.frames[position - 1].clock if position > 0 else 0.0

    def snapshot(self, position: int) -> RaceSnapshot:
        """Both runs as far as the first `position` steps go."""
        position = min(max(position, 0), len(self.frames))
        shown_target = sum(frame.run == "target" for frame in self.frames[:position])
        shown_speculative = position - shown_target
        return RaceSnapshot(self.target[:shown_target], self.speculative[:shown_speculative],
                            finished=position == len(self.frames))


def _run_frames(run: str, steps: tuple[Step, ...]) -> list[Frame]:
    frames, clock = [], 0.0
    for step in steps:
        clock += step.seconds
        frames.append(Frame(run, clock))
    return frames


@dataclass(frozen=True)
class Replay:
    """A recording and where its replay stands. `now` is the caller's wall clock (time.monotonic())."""

    recording: Recording
    position: int  # steps visible
    clock: float  # the compute time replayed so far (between frames while playing)
    speed: float = SPEEDS["1/10"]
    playing_since: float | None = field(default=None)  # wall time of the last play or re-anchor; None = paused
    figures_drawn_at: float = float("-inf")  # wall time the figures were last drawn

    @classmethod
    def at_end(cls, recording: Recording) -> "Replay":
        """A finished run is shown whole; Play then starts from the beginning."""
        return cls(recording, len(recording.frames), recording.duration)

    @property
    def playing(self) -> bool:
        return self.playing_since is not None

    @property
    def at_last_step(self) -> bool:
        return self.position >= len(self.recording.frames)

    def play(self, now: float, speed: float) -> "Replay":
        start = replace(self, position=0, clock=0.0) if self.at_last_step else self
        return replace(start, speed=speed, playing_since=now)

    def pause(self, now: float) -> "Replay":
        return replace(self.advanced(now), playing_since=None)

    def with_speed(self, now: float, speed: float) -> "Replay":
        """A new speed from now on; the part already replayed keeps the old one."""
        moved = self.advanced(now)
        return replace(moved, speed=speed, playing_since=now if self.playing else None)

    def advanced(self, now: float) -> "Replay":
        """Where a playing replay stands at `now`; it pauses at the end."""
        if not self.playing:
            return self
        clock = self.clock + (now - self.playing_since) * self.speed
        if clock >= self.recording.duration:
            return replace(self, position=len(self.recording.frames), clock=self.recording.duration, playing_since=None)
        return replace(self, position=self.recording.position_at(clock), clock=clock, playing_since=now)

    def seek(self, position: int) -> "Replay":
        """Paused exactly where the position-th step ends (a step button, the slider)."""
        position = min(max(int(position), 0), len(self.recording.frames))
        return replace(self, position=position, clock=self.recording.clock_at(position), playing_since=None)

    def figures_due(self, now: float) -> bool:
        """Paused (a step, the slider, the end) always; playing, once per FIGURE_SECONDS."""
        return not self.playing or now - self.figures_drawn_at >= FIGURE_SECONDS

    def snapshot(self) -> RaceSnapshot:
        return self.recording.snapshot(self.position)

    def inspected_step(self) -> int:
        """1-based number of the latest visible speculative decode step; 0 before the first."""
        return sum(not step.is_prefill for step in self.snapshot().speculative)

    def describe(self) -> str:
        snapshot = self.snapshot()
        tokens = [sum(len(step.emitted) for step in steps) for steps in (snapshot.target, snapshot.speculative)]
        state = "playing" if self.playing else "paused"
        return (f"Replay {state}: step {self.position} of {len(self.recording.frames)} (both runs) · compute clock "
                f"{self.clock * 1e3:.2f} of {self.recording.duration * 1e3:.2f} ms · target only {tokens[0]} tokens, "
                f"speculative {tokens[1]} tokens")
