"""The events the engine yields. Plain data: the UI and the metrics fold them, nothing calls back."""

from dataclasses import dataclass, field
from typing import Literal

# accepted/rejected: a drafted token the target kept/refused; corrected: the target's token at the first
# rejection; bonus: the target's extra token after all drafts were accepted; target: target-only decoding.
TokenKind = Literal["accepted", "rejected", "corrected", "bonus", "target"]


@dataclass(frozen=True)
class Candidate:
    token_id: int
    text: str
    p: float


@dataclass(frozen=True)
class DraftToken:
    token_id: int
    text: str
    q: float  # draft probability of this token
    p: float  # target probability of this token at the same position
    accept_probability: float  # min(1, p/q) when sampling; 1 or 0 for greedy (argmax match)
    parent: int = -1  # the drafted node this one follows (-1: the last emitted token); a chain's is i - 1


@dataclass(frozen=True)
class Token:
    token_id: int
    text: str
    kind: TokenKind
    p: float


@dataclass(frozen=True)
class Step:
    """One target forward pass: the prefill, a target-only token, or a draft-then-verify round.

    A draft is a chain or a tree: `drafted` holds its nodes (a chain's in order, a tree's parents first, each
    with its parent), `accepted` the length of the accepted path, `emitted` that path's tokens then the
    target's own; for a chain the same data as before trees.
    """

    index: int
    drafted: tuple[DraftToken, ...]
    accepted: int
    emitted: tuple[Token, ...]
    draft_seconds: float
    verify_seconds: float
    is_prefill: bool = False
    # The target's top candidates at each verified position (len(drafted) + 1 of them), for the inspector.
    target_top: tuple[tuple[Candidate, ...], ...] = field(default=(), repr=False)
    draft_passes: int | None = None  # the drafter's forward passes for this step's drafts
    # The accepted drafted nodes, root's child first (indices into drafted); a chain's is 0 .. accepted - 1.
    accepted_path: tuple[int, ...] = ()

    @property
    def seconds(self) -> float:
        return self.draft_seconds + self.verify_seconds

    @property
    def judged(self) -> int:
        """Drafted positions the target judged: the accepted ones and the first refused one, if any. For a tree
        the accepted path plus the depth below it where the drafted children were all refused; other nodes
        were never judged (drafted counts every node)."""
        if not self.drafted:
            return 0
        last = self.accepted_path[-1] if self.accepted_path else -1
        refused_below = any(token.parent == last for token in self.drafted)
        return self.accepted + refused_below
