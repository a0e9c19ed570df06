"""Accept/reject on hand-built distributions: exact results, and the output distribution of sampling."""

import pytest
import torch
from scipy.stats import chisquare

from msd_demo.engine.verify import verify_greedy, verify_sampling


def one_hot_rows(ids, vocab=5):
    return torch.nn.functional.one_hot(torch.tensor(ids), vocab).float() * 0.9 + 0.02


def test_greedy_accepts_the_matching_prefix_and_corrects_the_first_mismatch():
    p = one_hot_rows([3, 1, 4, 2])  # target argmax at the 3 draft positions and after them
    verdict = verify_greedy(torch.tensor([3, 1, 0]), p)
    assert (verdict.num_accepted, verdict.next_token) == (2, 4)
    assert verdict.accept_probabilities == (1.0, 1.0, 0.0)


def test_greedy_all_accepted_gives_the_bonus_token():
    verdict = verify_greedy(torch.tensor([3, 1, 4]), one_hot_rows([3, 1, 4, 2]))
    assert (verdict.num_accepted, verdict.next_token) == (3, 2)


def test_greedy_first_draft_rejected():
    verdict = verify_greedy(torch.tensor([0, 1]), one_hot_rows([3, 1, 4]))
    assert (verdict.num_accepted, verdict.next_token) == (0, 3)


def test_sampling_accepts_every_draft_when_p_equals_q():
    p = torch.softmax(torch.randn(4, 7, generator=torch.Generator().manual_seed(0)), dim=-1)
    verdict = verify_sampling(torch.tensor([1, 2, 3]), p[:3], p, torch.Generator().manual_seed(1))
    assert verdict.num_accepted == 3
    assert verdict.accept_probabilities == (1.0, 1.0, 1.0)


def test_sampling_always_rejects_a_token_the_target_never_emits_and_samples_the_residual():
    p = torch.tensor([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])
    q = torch.tensor([[0.9, 0.1, 0.0]])  # residual max(0, p - q) = [0, 0.4, 0.5]
    for seed in range(50):
        verdict = verify_sampling(torch.tensor([0]), q, p, torch.Generator().manual_seed(seed))
        assert verdict.num_accepted == 0
        assert verdict.next_token in (1, 2)
        assert verdict.accept_probabilities == (0.0,)


def test_sampling_acceptance_probability_is_min_one_p_over_q():
    p = torch.tensor([[0.2, 0.8], [0.5, 0.5]])
    q = torch.tensor([[0.4, 0.6]])
    verdict = verify_sampling(torch.tensor([0]), q, p, torch.Generator().manual_seed(0))
    assert verdict.accept_probabilities == (0.5,)


def _toy_distributions(vocab: int, positions: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    p = torch.softmax(torch.randn(positions, vocab, generator=generator) * 1.5, dim=-1)
    q = torch.softmax(torch.randn(positions, vocab, generator=generator) * 1.5, dim=-1)
    return p, q


@pytest.mark.slow
def test_speculative_sampling_output_is_distributed_as_the_target():
    """Two emitted tokens from gamma=2 drafts, 20k trials: their joint distribution is p0 x p1 (chi-square).

    The toy 'models' have position-dependent but context-free distributions, so the target's distribution
    of the first two tokens is the product of its first two rows. Covers rejection, residual and bonus paths.
    """
    vocab, trials = 4, 20_000
    p, q = _toy_distributions(vocab, positions=3, seed=0)
    generator = torch.Generator().manual_seed(123)
    counts = torch.zeros(vocab, vocab)
    for _ in range(trials):
        tokens = _emit_two_tokens(p, q, generator)
        counts[tokens[0], tokens[1]] += 1
    expected = (p[0][:, None] * p[1][None, :]).flatten() * trials
    result = chisquare(counts.flatten().numpy(), expected.numpy())
    assert result.pvalue > 1e-3, result


def _emit_two_tokens(p, q, generator) -> list[int]:
    emitted = []
    while len(emitted) < 2:
        start = len(emitted)
        drafts = torch.stack([torch.multinomial(q[start + i], 1, generator=generator)[0] for i in range(2 - start)])
        verdict = verify_sampling(drafts, q[start : start + len(drafts)], p[start : start + len(drafts) + 1], generator)
        emitted += drafts[: verdict.num_accepted].tolist() + [verdict.next_token]
    return emitted[:2]


@pytest.mark.slow  # statistical: many draws
def test_one_hot_drafts_are_lossless_too():
    """Deterministic proposals (prompt lookup: q one-hot) keep the target's distribution."""
    vocab, trials = 5, 20_000
    p, _ = _toy_distributions(vocab, positions=2, seed=1)
    q = torch.nn.functional.one_hot(torch.tensor([2]), vocab).float()
    generator = torch.Generator().manual_seed(7)
    counts = torch.zeros(vocab)
    for _ in range(trials):
        verdict = verify_sampling(torch.tensor([2]), q, p, generator)
        counts[2 if verdict.num_accepted else verdict.next_token] += 1
    assert chisquare(counts.numpy(), (p[0] * trials).numpy()).pvalue > 1e-3
