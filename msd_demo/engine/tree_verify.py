"""Pure accept/reject of a draft tree against the target's distributions at every node, all from one forward.

Rows of p: row 0 is the root (the last emitted token), row 1 + i is node i; the distribution of node i's
token is its parent's row. Nodes are numbered parents first.
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TreeVerdict:
    path: list[int]  # the accepted nodes, root's child first
    next_token: int  # the target's token after the path: a correction, or a bonus when the path ends in a leaf
    accept_probabilities: tuple[float, ...]  # per node: 1/0 (greedy, argmax match), min(1, p/q) (sampling)


def children_of(parents: list[int]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for node, parent in enumerate(parents):
        children.setdefault(parent, []).append(node)
    return children


def verify_tree_greedy(token_ids: torch.Tensor, parents: list[int], p: torch.Tensor) -> TreeVerdict:
    """token_ids [N]; p [1 + N, V]. The longest path whose tokens are all the target's argmax, then the
    target's argmax after it. Siblings differ, so at most one child of a node matches."""
    target_ids = p.argmax(dim=-1)  # [1 + N]
    parent_rows = torch.tensor(parents, dtype=torch.long, device=p.device) + 1
    matches = (target_ids[parent_rows] == token_ids).tolist() if len(parents) else []
    children, path, node = children_of(parents), [], -1
    while True:
        node = next((child for child in children.get(node, []) if matches[child]), None)
        if node is None:
            break
        path.append(node)
    last_row = path[-1] + 1 if path else 0
    return TreeVerdict(path, int(target_ids[last_row]), tuple(float(m) for m in matches))


def verify_tree_sampling(token_ids: list[int], parents: list[int], q: torch.Tensor, p: torch.Tensor,
                         generator: torch.Generator | None) -> TreeVerdict:
    """Lossless multi-candidate rejection sampling: the output is distributed as p.

    From the root down, a node's children are tried in turn (SpecInfer, Miao et al. 2024, sec. 4.2; EAGLE's
    evaluate_posterior): child x with draft law q_x is accepted with min(1, p'(x) / q_x(x)); on rejection
    p' <- norm(max(0, p' - q_x)). Children drawn without replacement from one q have, for the j-th, q with
    the j - 1 earlier siblings removed and renormalised (recursive rejection sampling, Jeon et al. 2024);
    a deterministic drafter's one-hot q is unchanged by that. After every child is rejected, or at a leaf,
    the next token is drawn from p'. q [N, V] is each node's drawing law padded to p's vocabulary.
    """
    accept = torch.clamp(p[torch.tensor(parents) + 1, token_ids] / q[range(len(token_ids)), token_ids], max=1.0) \
        if token_ids else torch.empty(0)
    children, path, node = children_of(parents), [], -1
    while True:
        residual, chosen, rejected = p[node + 1], None, []
        for child in children.get(node, []):
            q_child = q[child].clone()
            q_child[rejected] = 0.0
            q_child = q_child / q_child.sum()
            token = token_ids[child]
            if float(torch.rand((), generator=generator, device=p.device)) < float(residual[token] / q_child[token]):
                chosen = child
                break
            residual = _renormalised(torch.clamp(residual - q_child, min=0.0), fallback=residual)
            rejected.append(token)
        if chosen is None:
            next_token = int(torch.multinomial(residual, 1, generator=generator))
            return TreeVerdict(path, next_token, tuple(accept.tolist()))
        path.append(chosen)
        node = chosen


def _renormalised(weights: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    total = weights.sum()
    return weights / total if float(total) > 0 else fallback  # p' = q_x exactly: x was accepted with probability 1
