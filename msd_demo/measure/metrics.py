"""Fold Steps into run statistics and compare two runs: tokens/s, tau, alpha, speedups.

tau = tokens emitted per target forward pass in decoding (the bonus token included, the prefill excluded);
alpha = accepted drafts / drafted tokens.
"""

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from msd_demo.engine.events import Step


@dataclass(frozen=True)
class RunStats:
    token_ids: list[int]
    prefill_seconds: float  # target prefill (+ the drafter's own prefill for a speculative run)
    decode_seconds: float  # wall-clock from the end of the prefill to the last token
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
    def accepted(self) -> int:
        return sum(step.accepted for step in self.steps)

    @property
    def tau(self) -> float:
        emitted = sum(len(step.emitted) for step in self.steps)
        return emitted / len(self.steps) if self.steps else 0.0

    @property
    def alpha(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0

    @property
    def compute_seconds(self) -> float:
        """Prefill plus the timed draft and verify work of every step: the wall time minus loop overhead."""
        return self.prefill_seconds + sum(step.seconds for step in self.steps)


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
        """Measured end to end: target-only time / speculative time (per token, as lengths may differ)."""
        return _ratio(self.speculative.tokens_per_second, self.target.tokens_per_second)

    @property
    def theoretical_speedup(self) -> float:
        """What tau and the measured prefill, draft and verify costs predict, loop overhead excluded."""
        target_seconds_per_token = _ratio(self.target.compute_seconds, len(self.target.token_ids))
        speculative_seconds_per_token = _ratio(self.speculative.compute_seconds, len(self.speculative.token_ids))
        return _ratio(target_seconds_per_token, speculative_seconds_per_token)


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


def acceptance_by_word_class(steps: Iterable[Step], visual_words: frozenset[str]) -> dict[str, float | None]:
    """alpha split by what the target said at each judged draft position: a visual word or another word.

    Only positions up to the first rejection are judged (later drafts are discarded unseen); a position's
    word is the target's token there (the accepted draft, or the target's correction).
    """
    accepted = {"visual": 0, "other": 0}
    judged = {"visual": 0, "other": 0}
    for step in steps:
        for index in range(min(step.accepted + 1, len(step.drafted), len(step.emitted))):
            word = re.sub(r"[^a-z]", "", step.emitted[index].text.lower())
            word_class = "visual" if word in visual_words else "other"
            judged[word_class] += 1
            accepted[word_class] += index < step.accepted
    return {word_class: _ratio(accepted[word_class], judged[word_class]) if judged[word_class] else None
            for word_class in judged}
