"""Fair timing for a live comparison: two decoding runs interleaved in one thread, never computing at once.

Each run has its own compute clock: the sum of its steps' measured draft and verify seconds, prefill
included. The run whose clock is behind always advances next, so at any moment both runs have done about
the same amount of compute, and the panels advance at the runs' measured relative speed. Wall time does not
order the race: it would include the other run and the UI's own work. Each run's own wall time (the time spent
inside its generator: its compute, building its prompt and the loop's overhead) is kept for the wall-clock
`speedup`; the race itself shows `compute_speedup`.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass

from msd_demo.engine.events import Step
from msd_demo.measure.metrics import Comparison, stats_from_steps


@dataclass(frozen=True)
class RaceSnapshot:
    """Both runs as far as they got; a new snapshot after every step of either run."""

    target: tuple[Step, ...]
    speculative: tuple[Step, ...]
    finished: bool
    target_wall_seconds: float = 0.0  # time spent inside each run's generator so far
    speculative_wall_seconds: float = 0.0

    @property
    def target_clock(self) -> float:
        return compute_clock(self.target)

    @property
    def speculative_clock(self) -> float:
        return compute_clock(self.speculative)

    def comparison(self) -> Comparison:
        """speedup from each run's own wall time, compute_speedup from its compute clock."""
        return Comparison(stats_from_steps(list(self.target), self.target_wall_seconds or None),
                          stats_from_steps(list(self.speculative), self.speculative_wall_seconds or None))


def compute_clock(steps: tuple[Step, ...]) -> float:
    return sum(step.seconds for step in steps)


def race(target_steps: Iterator[Step], speculative_steps: Iterator[Step]) -> Iterator[RaceSnapshot]:
    """Advance whichever run's compute clock is behind (target-only first on a tie) until both end."""
    runs = {"target": iter(target_steps), "speculative": iter(speculative_steps)}
    done = {"target": [], "speculative": []}
    clocks = {"target": 0.0, "speculative": 0.0}
    walls = {"target": 0.0, "speculative": 0.0}
    while runs:
        name = min(runs, key=lambda run: (clocks[run], run != "target"))
        start = time.perf_counter()
        step = next(runs[name], None)
        walls[name] += time.perf_counter() - start
        if step is None:
            del runs[name]
        else:
            done[name].append(step)
            clocks[name] += step.seconds
        yield RaceSnapshot(tuple(done["target"]), tuple(done["speculative"]), not runs, walls["target"], walls["speculative"])
