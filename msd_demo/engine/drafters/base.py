"""The drafter protocol: begin on a request, then propose up to gamma tokens given what was emitted."""

from dataclasses import dataclass
from typing import Protocol

import torch

from msd_demo.engine.sampling import SamplingConfig
from msd_demo.media import Media
from msd_demo.prompt import Prompt


@dataclass(frozen=True)
class DraftRequest:
    question: str
    media: Media | None
    target_prompt: Prompt
    target_vocab_size: int  # drafts are made over min(draft, target) ids: vocabularies may differ by padding
    sampling: SamplingConfig


@dataclass(frozen=True)
class Draft:
    token_ids: list[int]
    q: torch.Tensor | None  # [k, V_shared] draft distributions; None = deterministic proposals (q one-hot)


class Drafter(Protocol):
    name: str

    def begin(self, request: DraftRequest) -> None:
        """Prefill on the request (once per generation)."""

    def propose(self, generated: list[int], gamma: int) -> Draft:
        """Up to gamma tokens to follow prompt + generated (generated always holds >= 1 token)."""
