"""Pure accept/reject of gamma drafted tokens against the target, all positions at once.

Notation: p = target distributions, q = draft distributions, k = number of drafted tokens (<= gamma).
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Verdict:
    num_accepted: int  # n: the first n drafted tokens are kept
    next_token: int  # the target's correction at position n, or the bonus token when n == k
    accept_probabilities: tuple[float, ...]  # per drafted token: min(1, p/q) (sampling) or 1/0 (greedy)


def verify_greedy(draft_ids: torch.Tensor, p: torch.Tensor) -> Verdict:
    """draft_ids: [k]; p: [k + 1, V]. Keep drafts while they equal the target's argmax."""
    target_ids = p.argmax(dim=-1)  # [k + 1]
    matches = target_ids[:-1] == draft_ids
    num_accepted = _first_false(matches)
    return Verdict(num_accepted, int(target_ids[num_accepted]), tuple(matches.float().tolist()))


def verify_sampling(
    draft_ids: torch.Tensor, q: torch.Tensor, p: torch.Tensor, generator: torch.Generator | None
) -> Verdict:
    """Lossless rejection sampling (Leviathan et al., Chen et al.); the output is distributed as p.

    draft_ids: [k]; q: [k, V]; p: [k + 1, V] (q padded with zeros to p's vocabulary).
    """
    k = draft_ids.shape[0]
    positions = torch.arange(k, device=p.device)
    p_draft = p[positions, draft_ids]  # [k]
    q_draft = q[positions, draft_ids]  # [k]
    accept_probabilities = torch.clamp(p_draft / q_draft, max=1.0)
    uniform = torch.rand(k, generator=generator, device=p.device)  # one draw per drafted position
    num_accepted = _first_false(uniform < accept_probabilities)
    if num_accepted < k:  # rejected at position n: sample from norm(max(0, p - q))
        residual = torch.clamp(p[num_accepted] - q[num_accepted], min=0.0)
        next_token = int(torch.multinomial(residual / residual.sum(), 1, generator=generator))
    else:  # all accepted: a bonus token from the last target distribution
        next_token = int(torch.multinomial(p[k], 1, generator=generator))
    return Verdict(num_accepted, next_token, tuple(accept_probabilities.tolist()))


def _first_false(flags: torch.Tensor) -> int:
    """Index of the first False in a [k] bool tensor, or k when all are True."""
    rejected = (~flags).nonzero()
    return int(rejected[0]) if rejected.numel() else flags.shape[0]
