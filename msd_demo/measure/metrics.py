"""Fold Steps into run statistics and compare two runs: tokens/s, tau, alpha, speedups.

tau = tokens emitted per target forward pass in decoding (the bonus token included, the prefill excluded).
alpha = accepted / judged positions: a step judges its drafted positions up to and including the first
rejection (all of them when all were accepted; later drafts are discarded unseen), and none past an emitted
EOS (the run ends there). This is the estimator of Leviathan et al.'s per-position acceptance probability,
the alpha their expected-speedup formula takes. accepted / drafted is `draft_acceptance`, a different figure
(it counts the discarded drafts as failures).

Two speedups, never under one name: `speedup` is wall-clock (target-only end-to-end time / speculative
end-to-end time, per token); `compute_speedup` is the ratio of the runs' compute clocks (their measured
prefill, draft and verify seconds, per token), which is what the app's race shows.
"""

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from msd_demo.engine.events import Step


def judged_positions(step: Step) -> int:
    """Drafted positions this step judged: up to and including the first rejection, none past an emitted EOS.

    Step.judged counts the accepted path and the first refused depth (a chain's first rejection; a tree's depth
    below the path where every drafted child was refused). Emitted token i stands at judged position i, so an EOS
    emitted at i (accepted or the correction) ends the judged positions there; with every draft accepted all are
    judged (the bonus token is not a drafted position).
    """
    return min(step.judged, len(step.emitted))


def accepted_positions(step: Step) -> int:
    """Judged positions whose draft was accepted (drafts accepted past an emitted EOS are not judged)."""
    return min(step.accepted, judged_positions(step))


@dataclass(frozen=True)
class RunStats:
    token_ids: list[int]
    prefill_seconds: float  # the timed prefill forward: target (+ the drafter's own prefill for a speculative run)
    # The rest of the end-to-end wall time: decoding, and building the prompt (processor + chat template),
    # which the engine does before its timed prefill.
    decode_seconds: float
    steps: tuple[Step, ...]  # decode steps only: one per target forward pass

    @property
    def total_seconds(self) -> float:
        return self.prefill_seconds + self.decode_seconds

    @property
    def tokens_per_second(self) -> float:
        return len(self.token_ids) / self.total_seconds if self.total_seconds > 0 else 0.0

    @property
    def drafted(self) -> int:
        return sum(len(step.drafted) for step in self.steps)

    @property
    def judged(self) -> int:
        return sum(judged_positions(step) for step in self.steps)

    @property
    def tau(self) -> float:
        emitted = sum(len(step.emitted) for step in self.steps)
        return emitted / len(self.steps) if self.steps else 0.0

    @property
    def alpha(self) -> float:
        """accepted / judged positions (module docstring): Leviathan et al.'s alpha."""
        return _ratio(sum(accepted_positions(step) for step in self.steps), self.judged)

    @property
    def draft_acceptance(self) -> float:
        """accepted / drafted: every drafted token counted, the ones discarded after a rejection too. Not alpha."""
        return _ratio(sum(step.accepted for step in self.steps), self.drafted)

    @property
    def compute_seconds(self) -> float:
        """Prefill plus the timed draft and verify work of every step: the wall time minus loop overhead."""
        return self.prefill_seconds + sum(step.seconds for step in self.steps)

    @property
    def seconds_per_step(self) -> float:
        """Mean timed draft + verify seconds of a decode step."""
        return _ratio(sum(step.seconds for step in self.steps), len(self.steps))


def collect(steps: Iterable[Step]) -> RunStats:
    """Run a decoding generator to the end, timing it end to end (wall-clock, nothing else done meanwhile)."""
    start = time.perf_counter()
    all_steps = list(steps)
    return stats_from_steps(all_steps, time.perf_counter() - start)


def stats_from_steps(steps: list[Step], wall_seconds: float | None = None) -> RunStats:
    """wall_seconds: the measured end-to-end time; without it, the sum of the steps' own timings."""
    prefill = [step for step in steps if step.is_prefill]
    decode = tuple(step for step in steps if not step.is_prefill)
    prefill_seconds = sum(step.seconds for step in prefill)
    if wall_seconds is None:
        wall_seconds = prefill_seconds + sum(step.seconds for step in decode)
    token_ids = [token.token_id for step in steps for token in step.emitted]
    return RunStats(token_ids, prefill_seconds, max(wall_seconds - prefill_seconds, 0.0), decode)


@dataclass(frozen=True)
class Comparison:
    target: RunStats
    speculative: RunStats

    @property
    def identical(self) -> bool:
        return self.target.token_ids == self.speculative.token_ids

    @property
    def first_difference(self) -> int | None:
        """Index of the first token where the runs differ, or None when identical."""
        for index, (a, b) in enumerate(zip(self.target.token_ids, self.speculative.token_ids)):
            if a != b:
                return index
        same_length = len(self.target.token_ids) == len(self.speculative.token_ids)
        return None if same_length else min(len(self.target.token_ids), len(self.speculative.token_ids))

    @property
    def speedup(self) -> float:
        """Wall-clock, end to end: target-only time / speculative time, per token (as lengths may differ)."""
        return _ratio(self.speculative.tokens_per_second, self.target.tokens_per_second)

    @property
    def compute_speedup(self) -> float:
        """The runs' compute clocks (prefill + draft + verify), per token: the race the app shows."""
        return _ratio(_per_token(self.target.compute_seconds, self.target), _per_token(self.speculative.compute_seconds, self.speculative))

    @property
    def theoretical_speedup(self) -> float:
        """What tau and the measured costs of a step predict for decoding (prefill and loop overhead excluded):
        tau target-only steps' worth of tokens for the price of one speculative (draft + verify) step."""
        return _ratio(self.speculative.tau * self.target.seconds_per_step, self.speculative.seconds_per_step)


def expected_speedup(alpha: float, gamma: int, cost_ratio: float) -> float:
    """Leviathan et al. (2023), eq. 1 and thm 3.8: expected walltime improvement for acceptance rate alpha,
    draft length gamma and cost_ratio c = draft step cost / target step cost."""
    if alpha >= 1.0:
        expected_tokens = gamma + 1
    else:
        expected_tokens = (1 - alpha ** (gamma + 1)) / (1 - alpha)
    return expected_tokens / (gamma * cost_ratio + 1)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _per_token(seconds: float, stats: RunStats) -> float:
    return _ratio(seconds, len(stats.token_ids))


def acceptance_by_word_class(steps: Iterable[Step], visual_words: frozenset[str]) -> dict[str, float | None]:
    """alpha split by what the target said at each judged position: a visual word or another word.

    The judged positions are alpha's own (judged_positions), so the overall alpha is a weighted mean of the two
    and lies between them. A position's word is the target's token there (the accepted draft, or its correction).
    """
    accepted = {"visual": 0, "other": 0}
    judged = {"visual": 0, "other": 0}
    for step in steps:
        for index in range(judged_positions(step)):
            word = re.sub(r"[^a-z]", "", step.emitted[index].text.lower())
            word_class = "visual" if word in visual_words else "other"
            judged[word_class] += 1
            accepted[word_class] += index < accepted_positions(step)
    return {word_class: _ratio(accepted[word_class], judged[word_class]) if judged[word_class] else None
            for word_class in judged}
