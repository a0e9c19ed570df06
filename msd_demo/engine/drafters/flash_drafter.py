"""`flash` (FLASH, 2025): a draft head over compressed visual latents that drafts k tokens per pass.

One pass of the head's decoder layer gives g at the last fed position; the LM head reads a token from it,
and the head's extra output path (vision_adaptor.AheadPath) turns g and that token into a guess of the next
g, which gives a second token, and so on up to k. The next pass feeds those k tokens at once, each with the
feature that predicted it. gamma tokens take ceil(gamma / k) passes; the engine verifies them as usual, so
the output is the target's whatever the head guesses.
"""

import torch

from msd_demo.engine.drafters.base import Draft
from msd_demo.engine.drafters.head_drafter import HeadDrafter
from msd_demo.engine.drafters.head_model import DraftHead
from msd_demo.engine.sampling import choose, probabilities
from msd_demo.loading.models import LoadedModel


class FlashDrafter(HeadDrafter):
    def __init__(self, name: str, head: DraftHead, target: LoadedModel):
        if head.ahead is None:
            raise ValueError(f"the {name} head drafts one token per pass (tokens_per_pass = 1): use HeadDrafter")
        super().__init__(name, head, target)
        self.per_pass = head.config.tokens_per_pass

    def propose(self, generated: list[int], gamma: int, target_hidden: torch.Tensor | None = None) -> Draft:
        feature, position = self._start_draft(generated, target_hidden)  # pass 1: the verified tokens, true features
        token_ids, q, passes = [], [], 1
        while True:
            # One pass's tokens: from g, then from the extra path's guesses of the g's after it.
            fed_features = []
            count = min(self.per_pass, gamma - len(token_ids))
            for j in range(count):
                probs = probabilities(self.lm_head(feature), self.sampling)
                token_ids.append(choose(probs, self.sampling, self.generator))
                q.append(probs)
                fed_features.append(feature)
                if j < count - 1:
                    feature = self.head.ahead(feature, self.embed(torch.tensor(token_ids[-1], device=self.device)))
            if len(token_ids) >= gamma:
                break
            # Next pass: this pass's tokens at once, each with the feature that predicted it.
            start = position + len(token_ids) - len(fed_features)
            ids = torch.tensor(token_ids[-len(fed_features):], device=self.device)
            feature = self._step(ids, torch.stack(fed_features), start)[-1]
            passes += 1
        return Draft(token_ids, torch.stack(q) if q else None, passes=passes)


def head_drafter(name: str, head: DraftHead, target: LoadedModel) -> HeadDrafter:
    """The drafter a head's config calls for: several tokens per pass (FLASH) or one (msd, ViSpec)."""
    return FlashDrafter(name, head, target) if head.config.tokens_per_pass > 1 else HeadDrafter(name, head, target)
