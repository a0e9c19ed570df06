"""Metrics on hand-built steps: tau, alpha, alpha by word class, expected speedup."""

import pytest

from msd_demo.engine.events import DraftToken, Step, Token
from msd_demo.measure.metrics import acceptance_by_word_class, expected_speedup, stats_from_steps

VISUAL = frozenset({"red", "circle"})


def step(drafted: list[str], accepted: int, target_words: list[str], seconds=(0.01, 0.02)) -> Step:
    """target_words: what the target emitted (accepted drafts, then its correction or bonus)."""
    drafts = tuple(DraftToken(i, word, 0.5, 0.5, 1.0) for i, word in enumerate(drafted))
    kinds = ["accepted"] * accepted + ["bonus" if accepted == len(drafted) else "corrected"]
    emitted = tuple(Token(100 + i, word, kind, 0.5) for i, (word, kind) in enumerate(zip(target_words, kinds)))
    return Step(1, drafts, accepted, emitted, *seconds)


def test_tau_and_alpha():
    prefill = Step(0, (), 0, (Token(1, " a", "target", 0.9),), 0.0, 0.05, is_prefill=True)
    steps = [prefill, step([" a", " b", " c"], 3, [" a", " b", " c", " d"]), step([" x", " y"], 0, [" z"])]
    stats = stats_from_steps(steps)
    assert stats.tau == (4 + 1) / 2
    assert stats.alpha == 3 / 5
    assert stats.prefill_seconds == 0.05 and len(stats.token_ids) == 6


def test_alpha_by_word_class_judges_positions_up_to_the_first_rejection():
    steps = [
        step([" the", " red", " circle"], 1, [" the", " blue"]),  # 'the' accepted; target said 'blue' (other)
        step([" red", " circle"], 2, [" red", " circle", " is"]),  # both visual, accepted
        step([" green"], 0, [" red"]),  # the target's word is visual: a visual rejection
    ]
    by_class = acceptance_by_word_class(steps, VISUAL)
    assert by_class["visual"] == pytest.approx(2 / 3)
    assert by_class["other"] == pytest.approx(1 / 2)


def test_expected_speedup_matches_leviathan():
    assert expected_speedup(0.0, 4, 0.0) == 1.0
    assert expected_speedup(1.0, 4, 0.0) == 5.0
    assert expected_speedup(0.8, 3, 0.1) == pytest.approx((1 - 0.8**4) / 0.2 / 1.3)
