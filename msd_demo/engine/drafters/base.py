"""The drafter protocol: begin on a request, then propose up to gamma tokens given what was emitted.

Draft heads (EAGLE-style: `msd`, ...) draft from the target's own features. They say so with
`uses_target_features`, and the engine then hands them the features its target forwards computed anyway:
the prompt's in `DraftRequest.target_features`, and with each `propose` those of the tokens the target
verified and kept since the last call. No extra target forward is ever run for a drafter.
"""

from dataclasses import dataclass
from typing import Protocol

import torch

from msd_demo.engine.model_cache import TargetFeatures
from msd_demo.engine.sampling import SamplingConfig
from msd_demo.engine.tree import DraftedTree, DraftShape
from msd_demo.inputs.media import Media
from msd_demo.inputs.prompt import Prompt


@dataclass(frozen=True)
class DraftRequest:
    question: str
    media: Media | None
    target_prompt: Prompt
    target_vocab_size: int  # drafts are made over min(draft, target) ids: vocabularies may differ by padding
    sampling: SamplingConfig
    target_features: TargetFeatures | None = None  # the prompt's, for drafters with uses_target_features


@dataclass(frozen=True)
class Draft:
    token_ids: list[int]
    q: torch.Tensor | None  # [k, V_shared] the law each token was drawn from; None = deterministic (q one-hot)
    passes: int | None = None  # forward passes of the draft model (or head) it took; None where not counted
    parents: list[int] | None = None  # a tree: each node's parent (-1: the root); None: a chain


class Drafter(Protocol):
    name: str
    uses_target_features: bool

    def begin(self, request: DraftRequest) -> None:
        """Prefill on the request (once per generation)."""

    def propose(self, generated: list[int], shape: DraftShape, target_hidden: torch.Tensor | None = None) -> Draft:
        """A chain or tree of the given shape to follow prompt + generated (generated always holds >= 1 token).

        target_hidden: [n, d] features of the tokens the target verified and kept since the last call, given to
        drafters with uses_target_features. With them the drafter knows the target's features of the prompt
        and of every generated token but the last (which the target has not seen yet).
        """


def as_draft(tree: DraftedTree, shape: DraftShape, passes: int) -> Draft:
    """A grown tree as the engine takes it: a chain's parents are implied."""
    return Draft(tree.token_ids, tree.q, passes, None if shape.is_chain else tree.parents)
