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


@dataclass(frozen=True)
class Token:
    token_id: int
    text: str
    kind: TokenKind
    p: float


@dataclass(frozen=True)
class Step:
    """One target forward pass: the prefill, a target-only token, or a draft-then-verify round."""

    index: int
    drafted: tuple[DraftToken, ...]
    accepted: int
    emitted: tuple[Token, ...]
    draft_seconds: float
    verify_seconds: float
    is_prefill: bool = False
    # The target's top candidates at each verified position (len(drafted) + 1 of them), for the inspector.
    target_top: tuple[tuple[Candidate, ...], ...] = field(default=(), repr=False)
    draft_passes: int | None = None  # the drafter's forward passes for this step's drafts (head drafters count them)

    @property
    def seconds(self) -> float:
        return self.draft_seconds + self.verify_seconds
