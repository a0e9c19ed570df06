"""Metrics on hand-built steps with known figures: tau, alpha (judged positions), both speedups, first_difference."""

import pytest

from msd_demo.engine.events import DraftToken, Step, Token
from msd_demo.measure.metrics import (
    Comparison,
    RunStats,
    acceptance_by_word_class,
    expected_speedup,
    judged_positions,
    stats_from_steps,
)
from msd_demo.ui.plots import expected_speedup_figure

VISUAL = frozenset({"red", "circle"})
EOS = "</s>"


def step(drafted: list[str], accepted: int, target_words: list[str], seconds=(0.01, 0.04)) -> Step:
    """target_words: what the target emitted (accepted drafts, then its correction or bonus), cut after an EOS
    as the engine cuts it; accepted: the verdict's count, which may run past an accepted EOS."""
    drafts = tuple(DraftToken(i, word, 0.5, 0.5, 1.0, parent=i - 1) for i, word in enumerate(drafted))  # a chain
    kinds = ["accepted"] * accepted + ["bonus" if accepted == len(drafted) else "corrected"]
    emitted = tuple(Token(100 + i, word, kind, 0.5) for i, (word, kind) in enumerate(zip(target_words, kinds)))
    return Step(1, drafts, accepted, emitted, *seconds, accepted_path=tuple(range(min(accepted, len(drafted)))))


def prefill(seconds: float, draft_seconds: float = 0.0) -> Step:
    return Step(0, (), 0, (Token(1, " a", "target", 0.9),), draft_seconds, seconds, is_prefill=True)


def target_step() -> Step:
    return Step(1, (), 0, (Token(2, " b", "target", 0.9),), 0.0, 0.1)


# Judged / accepted positions of each: 3/3 (all accepted), 1/2 (second rejected), 0/1 (first rejected),
# 2/2 (EOS accepted at the second position: the two drafts after it were accepted too, but never judged).
SPECULATIVE_STEPS = [
    step([" a", " b", " c"], 3, [" a", " b", " c", " d"]),
    step([" a", " b", " c"], 1, [" a", " x"]),
    step([" x", " y"], 0, [" z"]),
    step([" a", EOS, " b", " c"], 4, [" a", EOS]),
]


def test_judged_positions_stop_at_the_first_rejection_and_at_an_emitted_eos():
    assert [judged_positions(s) for s in SPECULATIVE_STEPS] == [3, 2, 1, 2]
    eos_corrects = step([" a", " b", " c"], 1, [" a", EOS])  # the target's correction is EOS: judged like any
    eos_then_rejection = step([" a", EOS, " c", " d"], 2, [" a", EOS])  # the rejection after EOS is not judged
    no_room_to_draft = step([], 0, [" z"])
    assert [judged_positions(s) for s in (eos_corrects, eos_then_rejection, no_room_to_draft)] == [2, 2, 0]


def test_tau_alpha_and_draft_acceptance():
    stats = stats_from_steps([prefill(0.1), *SPECULATIVE_STEPS])
    assert stats.tau == pytest.approx((4 + 2 + 1 + 2) / 4)
    assert stats.alpha == pytest.approx((3 + 1 + 0 + 2) / (3 + 2 + 1 + 2))
    assert stats.draft_acceptance == pytest.approx((3 + 1 + 0 + 4) / (3 + 3 + 2 + 4))  # not alpha
    assert stats.prefill_seconds == pytest.approx(0.1) and len(stats.token_ids) == 10


def test_all_accepted_is_alpha_one_and_tau_gamma_plus_one():
    stats = stats_from_steps([prefill(0.1)] + [step([" a", " b", " c", " d"], 4, [" a", " b", " c", " d", " e"])] * 3)
    assert stats.alpha == 1.0 and stats.tau == 5.0


def test_both_speedups_and_the_theoretical_one():
    # Target-only: 10 tokens, prefill 0.1 s and 9 steps of 0.1 s (compute 1.0 s), 1.1 s end to end.
    target = stats_from_steps([prefill(0.1), *[target_step()] * 9], wall_seconds=1.1)
    # Speculative: 10 tokens, prefill 0.08 s + the drafter's 0.02 s, 4 steps of 0.05 s (compute 0.3 s), 0.55 s end to end.
    speculative = stats_from_steps([prefill(0.08, draft_seconds=0.02), *SPECULATIVE_STEPS], wall_seconds=0.55)
    comparison = Comparison(target, speculative)
    assert comparison.speedup == pytest.approx(1.1 / 0.55)  # wall-clock
    assert comparison.compute_speedup == pytest.approx(1.0 / 0.3)  # compute clocks
    assert comparison.theoretical_speedup == pytest.approx(9 / 4 * 0.1 / 0.05)  # tau x target step / speculative step


def test_speedup_is_per_token_when_lengths_differ():
    target = stats_from_steps([prefill(0.1), *[target_step()] * 9], wall_seconds=1.0)  # 10 tokens in 1.0 s
    speculative = stats_from_steps([prefill(0.1), SPECULATIVE_STEPS[0], SPECULATIVE_STEPS[1]], wall_seconds=0.35)  # 7 in 0.35 s
    comparison = Comparison(target, speculative)
    assert comparison.speedup == pytest.approx((7 / 0.35) / (10 / 1.0))
    assert comparison.compute_speedup == pytest.approx((1.0 / 10) / (0.2 / 7))


@pytest.mark.parametrize(
    "target_ids, speculative_ids, first",
    [([1, 2, 3], [1, 2, 3], None), ([1, 2, 3], [1, 9, 3], 1), ([1, 2, 3], [1, 2, 3, 4], 3), ([1, 2, 3, 4], [1, 2], 2),
     ([1, 2], [7, 2, 3], 0)],
)
def test_first_difference(target_ids, speculative_ids, first):
    comparison = Comparison(RunStats(target_ids, 0.1, 1.0, ()), RunStats(speculative_ids, 0.1, 0.5, ()))
    assert comparison.first_difference == first
    assert comparison.identical == (first is None)


def test_alpha_by_word_class_judges_alphas_positions():
    steps = [
        step([" the", " red", " circle"], 1, [" the", " blue"]),  # 'the' accepted; target said 'blue' (other)
        step([" red", " circle"], 2, [" red", " circle", " is"]),  # both visual, accepted
        step([" green"], 0, [" red"]),  # the target's word is visual: a visual rejection
        step([" red", EOS, " circle"], 3, [" red", EOS]),  # 'red' and EOS judged; ' circle' after EOS is not
    ]
    by_class = acceptance_by_word_class(steps, VISUAL)
    assert by_class["visual"] == pytest.approx(3 / 4)
    assert by_class["other"] == pytest.approx(2 / 3)
    alpha = stats_from_steps(steps).alpha
    assert alpha == pytest.approx(5 / 7)
    assert min(by_class.values()) <= alpha <= max(by_class.values())


def test_expected_speedup_matches_leviathan():
    assert expected_speedup(0.0, 4, 0.0) == 1.0
    assert expected_speedup(1.0, 4, 0.0) == 5.0
    assert expected_speedup(0.8, 3, 0.1) == pytest.approx((1 - 0.8**4) / 0.2 / 1.3)


def test_the_expected_speedup_curve_uses_the_judged_alpha():
    target = stats_from_steps([prefill(0.1), *[target_step()] * 9])
    speculative = stats_from_steps([prefill(0.1), *SPECULATIVE_STEPS])
    figure = expected_speedup_figure(Comparison(target, speculative), gamma=3)
    c = (0.04 / 12) / 0.1  # draft seconds per drafted token / target seconds per token
    assert figure.data[1].y[0] == pytest.approx(expected_speedup(0.75, 3, c))
    assert "alpha = 0.75" in figure.layout.title.text
