"""The target's side of a tree step: one forward over the root and every node, the verdict, the cache
compacted to the accepted path, and each node's fate for the Step event."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from msd_demo.engine.drafters.base import Draft
from msd_demo.engine.events import DraftToken, Token
from msd_demo.engine.model_cache import CachedModel
from msd_demo.engine.sampling import SamplingConfig, probabilities
from msd_demo.engine.tree import tree_attention
from msd_demo.engine.tree_verify import TreeVerdict, children_of, verify_tree_greedy, verify_tree_sampling


@dataclass(frozen=True)
class StepOutcome:
    drafted: tuple[DraftToken, ...]
    emitted: list[Token]
    path: tuple[int, ...]  # the accepted nodes
    p: torch.Tensor  # [1 + N, V] the target's distributions: the root's, then after each node
    kept_hidden: torch.Tensor | None  # the target's features of the root and the accepted path (draft heads)


def verify_tree_step(cache: CachedModel, root: int, draft: Draft, sampling: SamplingConfig, generator,
                     with_features: bool, piece: Callable[[int], str]) -> StepOutcome:
    """Feed the root (the last emitted token) and the nodes at their depths, verify, keep the accepted path."""
    start = cache.length  # the root's position
    depths, attend = tree_attention(draft.parents, cache.device)
    tokens = torch.tensor([root] + draft.token_ids, device=cache.device)
    output = cache.forward_tree(tokens, start + depths, attend, with_features)
    logits, hidden = output if with_features else (output, None)
    p = probabilities(logits, sampling)  # [1 + N, V]
    draft_ids = tokens[1:]
    if sampling.greedy:
        verdict = verify_tree_greedy(draft_ids, draft.parents, p)
    else:
        verdict = verify_tree_sampling(draft.token_ids, draft.parents, dense_q(draft, draft_ids, p), p, generator)
    kept_rows = torch.tensor([0] + [node + 1 for node in verdict.path], device=cache.device)
    cache.keep(start, start + kept_rows)
    kept_hidden = hidden[kept_rows] if hidden is not None else None
    drafted, emitted = _tree_fates(draft, verdict, p, piece)
    return StepOutcome(drafted, emitted, tuple(verdict.path), p, kept_hidden)


def _tree_fates(draft: Draft, verdict: TreeVerdict, p: torch.Tensor, piece) -> tuple[tuple[DraftToken, ...], list[Token]]:
    """Each node with its q, p (at its parent's row) and parent; the accepted path's tokens, then the target's
    token after it: a bonus when the path ends in a leaf, a correction where children were refused."""
    nodes = torch.arange(len(draft.token_ids))
    ids, parent_rows = torch.tensor(draft.token_ids, dtype=torch.long), torch.tensor(draft.parents, dtype=torch.long) + 1
    q_values = draft.q[nodes, ids].tolist() if draft.q is not None else [1.0] * len(nodes)
    p_values = p[parent_rows.to(p.device), ids.to(p.device)].tolist()
    drafted = tuple(
        DraftToken(t, piece(t), q, pv, a, parent=parent)
        for t, q, pv, a, parent in zip(draft.token_ids, q_values, p_values, verdict.accept_probabilities, draft.parents)
    )
    emitted = [Token(draft.token_ids[n], piece(draft.token_ids[n]), "accepted", p_values[n]) for n in verdict.path]
    last = verdict.path[-1] if verdict.path else -1
    kind = "corrected" if children_of(draft.parents).get(last) else "bonus"
    emitted.append(Token(verdict.next_token, piece(verdict.next_token), kind, float(p[last + 1, verdict.next_token])))
    return drafted, emitted


def dense_q(draft: Draft, draft_ids: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """q as [k, V] over the target's vocabulary: zero beyond the shared ids; one-hot when deterministic."""
    vocab = p.shape[-1]
    if draft.q is None:
        return F.one_hot(draft_ids, vocab).to(p.dtype)
    q = draft.q.to(device=p.device, dtype=p.dtype)
    return F.pad(q, (0, vocab - q.shape[-1])) if q.shape[-1] < vocab else q[:, :vocab]
