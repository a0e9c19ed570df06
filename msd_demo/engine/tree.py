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
    root, the last emitted token. All on the device: growing a draft needs no host sync.

    Its tensors are written in place into buffers sized for the most nodes the shape can grow: a draft adds
    nodes gamma times a step, and copying every tensor on each add cost msd 5 of its 60 ms of drafting on a CPU
    video answer (session 37). A chain keeps no ancestor matrix: a node's ancestors there are the nodes before it."""

    def __init__(self, shape: DraftShape, device: torch.device):
        self.shape, self.device, self.size = shape, device, 0
        capacity = shape.most_nodes
        self._numbers = torch.arange(capacity, device=device)
        self._tokens = torch.zeros(capacity, dtype=torch.long, device=device)
        self._parents = torch.zeros(capacity, dtype=torch.long, device=device)
        self._depths = torch.zeros(capacity, dtype=torch.long, device=device)
        self._scores = torch.zeros(capacity, device=device)  # cumulative log q of the path to each node
        self._q_index = torch.zeros(capacity, dtype=torch.long, device=device)  # the q row each node was drawn from
        self.q_rows: list[torch.Tensor] = []
        # [N, N], each node its own ancestor
        self._ancestors = None if shape.is_chain else torch.zeros(capacity, capacity, dtype=torch.bool, device=device)

    tokens = property(lambda self: self._tokens[: self.size])
    parents = property(lambda self: self._parents[: self.size])
    depths = property(lambda self: self._depths[: self.size])
    scores = property(lambda self: self._scores[: self.size])
    q_index = property(lambda self: self._q_index[: self.size])

    @property
    def ancestors(self) -> torch.Tensor:
        if self._ancestors is None:
            return torch.ones(self.size, self.size, dtype=torch.bool, device=self.device).tril()
        return self._ancestors[: self.size, : self.size]

    def add(self, parents, tokens, scores, q_index, depth: int) -> torch.Tensor:
        """Append nodes; returns their indices."""
        old, end = self.size, self.size + len(tokens)
        new = self._numbers[old:end]
        self._tokens[old:end], self._parents[old:end], self._depths[old:end] = tokens, parents, depth
        self._scores[old:end], self._q_index[old:end] = scores, q_index
        if self._ancestors is not None:
            rows = self._ancestors[parents.clamp(min=0)] & (parents >= 0)[:, None]
            rows[torch.arange(len(tokens), device=self.device), new] = True
            self._ancestors[old:end] = rows
        self.size = end
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
    q_rows_before = 0  # rows of q drawn from at earlier depths
    for depth in range(1, shape.depth + 1):
        frontier, frontier_q, frontier_scores, top_k = _within_budget(tree, frontier, frontier_q, frontier_scores, sampling)
        if top_k == 0:
            break
        tokens, log_q = _children(frontier_q, top_k, sampling, generator)  # [F, k]
        tree.q_rows.append(frontier_q)
        q_index = q_rows_before + torch.arange(len(frontier), device=tree.device)
        q_rows_before += len(frontier)
        if top_k > 1:  # each frontier node has top_k children
            frontier, q_index = frontier.repeat_interleave(top_k), q_index.repeat_interleave(top_k)
        new = tree.add(frontier, tokens.flatten(), (frontier_scores[:, None] + log_q).flatten(), q_index, depth)
        if depth == shape.depth or _below_threshold(tree, new, shape.threshold):
            break
        # A chain's one new node is its frontier; a tree's are the best top_k, best first.
        frontier = new if shape.is_chain else new[tree.scores[new].topk(min(shape.top_k, len(new))).indices]
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
    if tree.shape.is_chain:
        return _finish_chain(tree)
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


def _finish_chain(tree: GrowingTree) -> DraftedTree:
    """A chain needs no rerank; it ends before its first node a q of zero reached (the rest descend from it)."""
    tokens, finite = torch.stack([tree.tokens, torch.isfinite(tree.scores).long()]).tolist() if tree.size else ([], [])
    length = finite.index(0) if 0 in finite else len(finite)
    q = torch.cat(tree.q_rows)[:length] if tree.q_rows else None
    return DraftedTree(tokens[:length], list(range(-1, length - 1)), q)


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
