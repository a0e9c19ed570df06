"""Draft trees (EAGLE-2, Li et al. 2024) and the one proposal loop every drafter grows its draft with.

A draft grows from the root (the last emitted token) depth by depth. At each depth the best frontier nodes,
scored by the cumulative log q of their path, are scored by the drafter (one call of its `score` step: a
forward of the draft model, a pass of a draft head, or FLASH's cheap extra path) and each gets its top_k
children. Greedy decoding then reranks all nodes to the node budget, as EAGLE-2 does. A chain is the tree
with top_k 1, and a dynamic chain (or tree) stops once the best path's cumulative q falls below a threshold.

Sampling draws the children without replacement from q (Gumbel top-k, Kool et al. 2019: the same law as k
sequential draws) and keeps every drawn node: the budget is met by expanding fewer nodes, never by dropping
drawn ones, because dropping a drawn child for its low q would bias the rejection sampling that verifies it
(tree_verify.py).
"""

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from msd_demo.engine.sampling import SamplingConfig
from msd_demo.errors import UserInputError

MAX_TOP_K = 16


@dataclass(frozen=True)
class TreeConfig:
    """An EAGLE-2 tree: top_k children per expanded node, depth levels, at most `nodes` drafted nodes."""

    top_k: int = 4
    depth: int = 4
    nodes: int = 16

    def __post_init__(self):
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise UserInputError(f"tree top-k must be between 1 and {MAX_TOP_K}, got {self.top_k}.")
        if not 1 <= self.depth <= 16:
            raise UserInputError(f"tree depth must be between 1 and 16, got {self.depth}.")
        most = most_nodes(self.top_k, self.depth)
        if not self.depth <= self.nodes <= most:
            raise UserInputError(f"tree nodes must be between the depth ({self.depth}) and {most} "
                                 f"(top-k {self.top_k}, depth {self.depth}), got {self.nodes}.")


@dataclass(frozen=True)
class DraftShape:
    """What one proposal may draft: a chain of `depth` tokens is top_k 1, nodes = depth."""

    top_k: int
    depth: int
    nodes: int
    threshold: float = 0.0  # stop growing once the best path's cumulative q falls below it (0: never)

    @property
    def is_chain(self) -> bool:
        return self.top_k == 1

    @property
    def most_nodes(self) -> int:
        """Every node the growth can make before the rerank: top_k, then top_k**2 at each later depth."""
        return most_nodes(self.top_k, self.depth)


def most_nodes(top_k: int, depth: int) -> int:
    return top_k + max(depth - 1, 0) * top_k**2 if depth else 0


class GrowingTree:
    """Nodes as they are drafted, numbered in order of creation (parents before children). Parent -1 is the
    root, the last emitted token. All on the device: growing a draft needs no host sync."""

    def __init__(self, shape: DraftShape, device: torch.device):
        self.shape, self.device, self.size = shape, device, 0
        self.tokens = torch.empty(0, dtype=torch.long, device=device)
        self.parents = torch.empty(0, dtype=torch.long, device=device)
        self.depths = torch.empty(0, dtype=torch.long, device=device)
        self.scores = torch.empty(0, device=device)  # cumulative log q of the path to each node
        self.q_index = torch.empty(0, dtype=torch.long, device=device)  # the q row each node was drawn from
        self.q_rows: list[torch.Tensor] = []
        self.ancestors = torch.zeros(0, 0, dtype=torch.bool, device=device)  # [N, N], each node its own ancestor

    def add(self, parents, tokens, scores, q_index, depth: int) -> torch.Tensor:
        """Append nodes; returns their indices."""
        count, old = len(tokens), self.size
        ancestors = F.pad(self.ancestors, (0, count, 0, count))
        rows = ancestors[parents.clamp(min=0)] & (parents >= 0)[:, None]
        new = torch.arange(old, old + count, device=self.device)
        rows[torch.arange(count, device=self.device), new] = True
        ancestors[old:] = rows
        self.ancestors, self.size = ancestors, old + count
        self.tokens, self.parents = torch.cat([self.tokens, tokens]), torch.cat([self.parents, parents])
        self.depths = torch.cat([self.depths, torch.full_like(tokens, depth)])
        self.scores, self.q_index = torch.cat([self.scores, scores]), torch.cat([self.q_index, q_index])
        return new

    def attention(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """[S, K] bool: which of the nodes `keys` each of the nodes `queries` may attend (its ancestors, itself)."""
        return self.ancestors[queries][:, keys]


class NodeScorer(Protocol):
    def __call__(self, tree: GrowingTree, frontier: torch.Tensor) -> torch.Tensor:
        """q of the token after each frontier node: [F] node indices -> [F, V]."""


@dataclass(frozen=True)
class DraftedTree:
    token_ids: list[int]
    parents: list[int]  # -1: a child of the root
    q: torch.Tensor  # [N, V] the distribution each node was drawn from


def grow_draft(root_q: torch.Tensor, score: NodeScorer, shape: DraftShape, sampling: SamplingConfig,
               generator: torch.Generator | None) -> GrowingTree:
    """The one proposal loop: root_q [V] is the drafter's q of the first drafted token."""
    tree = GrowingTree(shape, root_q.device)
    frontier = torch.full((1,), -1, device=root_q.device)
    frontier_q, frontier_scores = root_q[None], torch.zeros(1, device=root_q.device)
    for depth in range(1, shape.depth + 1):
        frontier, frontier_q, frontier_scores, top_k = _within_budget(tree, frontier, frontier_q, frontier_scores, sampling)
        if top_k == 0:
            break
        tokens, log_q = _children(frontier_q, top_k, sampling, generator)  # [F, k]
        tree.q_rows.append(frontier_q)
        q_index = sum(len(rows) for rows in tree.q_rows[:-1]) + torch.arange(len(frontier), device=tree.device)
        new = tree.add(frontier.repeat_interleave(top_k), tokens.flatten(), (frontier_scores[:, None] + log_q).flatten(),
                       q_index.repeat_interleave(top_k), depth)
        if depth == shape.depth or _below_threshold(tree, new, shape.threshold):
            break
        frontier = new[tree.scores[new].topk(min(shape.top_k, len(new))).indices]
        frontier_q, frontier_scores = score(tree, frontier), tree.scores[frontier]
    return tree


def _within_budget(tree, frontier, frontier_q, frontier_scores, sampling):
    """Sampling: expand only as many frontier nodes (the best first) as the node budget has room for."""
    top_k = min(tree.shape.top_k, frontier_q.shape[-1])
    if sampling.greedy:
        return frontier, frontier_q, frontier_scores, top_k
    room = tree.shape.nodes - tree.size
    expanded = min(len(frontier), room // top_k) if room >= top_k else min(len(frontier), 1)
    top_k = min(top_k, room)
    return frontier[:expanded], frontier_q[:expanded], frontier_scores[:expanded], top_k if expanded else 0


def _children(q: torch.Tensor, top_k: int, sampling: SamplingConfig, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """q [F, V] -> each row's top_k tokens (greedy) or top_k draws without replacement, in draw order; their log q."""
    log_q = q.log()
    keys = log_q
    if not sampling.greedy:  # log q + Gumbel noise, top k: k sequential draws without replacement
        uniform = torch.rand(q.shape, generator=generator, device=q.device).clamp(min=1e-20)
        keys = log_q - (-uniform.log()).log()
    tokens = keys.topk(top_k, dim=-1).indices
    return tokens, log_q.gather(-1, tokens)


def _below_threshold(tree: GrowingTree, new: torch.Tensor, threshold: float) -> bool:
    """Dynamic drafting: one host sync per depth, only when a threshold is set."""
    return threshold > 0 and bool(tree.scores[new].max() < torch.tensor(threshold).log())


def finish(tree: GrowingTree, sampling: SamplingConfig) -> DraftedTree:
    """Greedy: rerank to the node budget (EAGLE-2); a stable sort on the score keeps a parent before its
    children, whose scores are never higher. Nodes a q of zero reached are dropped. One host sync."""
    kept = torch.arange(tree.size, device=tree.device)
    if sampling.greedy and tree.size > tree.shape.nodes:
        kept = torch.sort(-tree.scores, stable=True).indices[: tree.shape.nodes].sort().values
    kept = kept[torch.isfinite(tree.scores[kept])]
    renumber = torch.full((tree.size + 1,), -1, dtype=torch.long, device=tree.device)
    renumber[kept] = torch.arange(len(kept), device=tree.device)
    parents = renumber[tree.parents[kept]]  # a root child's parent -1 reads renumber[-1] = -1
    token_ids, parent_ids = torch.stack([tree.tokens[kept], parents]).tolist() if len(kept) else ([], [])
    q = torch.cat(tree.q_rows)[tree.q_index[kept]] if tree.q_rows else None
    return DraftedTree(token_ids, parent_ids, q)


def path_to(parents: list[int], node: int) -> list[int]:
    """The nodes from the root's child down to node."""
    path = []
    while node >= 0:
        path.append(node)
        node = parents[node]
    return path[::-1]


def tree_attention(parents: list[int], device) -> tuple[torch.Tensor, torch.Tensor]:
    """The root followed by the nodes: their depths [1 + N] and who may attend whom [1 + N, 1 + N] (ancestors, self)."""
    count = len(parents) + 1
    attend = torch.eye(count, dtype=torch.bool)
    depths = [0] * count
    for node, parent in enumerate(parents, start=1):
        attend[node] |= attend[parent + 1]
        depths[node] = depths[parent + 1] + 1
    return torch.tensor(depths, device=device), attend.to(device)
