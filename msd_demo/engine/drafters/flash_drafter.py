"""`flash` (FLASH, 2025): a draft head over compressed visual latents that drafts k tokens per pass.

One pass of the head's decoder layer gives g at the last fed position; the LM head reads a token from it,
and the head's extra output path (vision_adaptor.AheadPath) turns g and that token into a guess of the next
g, which gives a second token, and so on up to k. The next pass feeds those k tokens at once, each with the
feature that predicted it. gamma tokens take ceil(gamma / k) passes; the engine verifies them as usual, so
the output is the target's whatever the head guesses. The drafting itself is HeadDrafter's: its score step
uses the extra path within a pass (head_drafter.HeadDrafter._score).
"""

from msd_demo.engine.drafters.head_drafter import HeadDrafter
from msd_demo.engine.drafters.head_model import DraftHead
from msd_demo.loading.models import LoadedModel


class FlashDrafter(HeadDrafter):
    def __init__(self, name: str, head: DraftHead, target: LoadedModel):
        if head.ahead is None:
            raise ValueError(f"the {name} head drafts one token per pass (tokens_per_pass = 1): use HeadDrafter")
        super().__init__(name, head, target)


def head_drafter(name: str, head: DraftHead, target: LoadedModel) -> HeadDrafter:
    """The drafter a head's config calls for: several tokens per pass (FLASH) or one (msd, ViSpec)."""
    return FlashDrafter(name, head, target) if head.config.tokens_per_pass > 1 else HeadDrafter(name, head, target)
