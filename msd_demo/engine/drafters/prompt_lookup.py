"""Prompt lookup: copy the tokens that followed the last earlier occurrence of the current n-gram.

No model, no training (Saxena, 2023). Its proposals are deterministic, so q is one-hot.
"""

from msd_demo.engine.drafters.base import Draft, DraftRequest
from msd_demo.engine.tree import DraftShape


class PromptLookupDrafter:
    name = "prompt-lookup"
    uses_target_features = False

    def __init__(self, max_ngram: int = 3, min_ngram: int = 1):
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram

    def begin(self, request: DraftRequest) -> None:
        self.prompt_ids = request.target_prompt.text_token_ids  # image tokens carry no text to copy

    def propose(self, generated: list[int], shape: DraftShape, target_hidden=None) -> Draft:
        """A chain whatever the shape asks: one continuation, up to the shape's depth."""
        sequence, gamma = self.prompt_ids + generated, shape.depth
        for n in range(self.max_ngram, self.min_ngram - 1, -1):
            continuation = _continuation_of_last_match(sequence, n, gamma)
            if continuation:
                return Draft(continuation, None)
        return Draft([], None)


def _continuation_of_last_match(sequence: list[int], n: int, gamma: int) -> list[int]:
    if len(sequence) <= n:
        return []
    pattern = sequence[-n:]
    for start in range(len(sequence) - n - 1, -1, -1):  # latest match first: the most recent context
        if sequence[start : start + n] == pattern:
            return sequence[start + n : start + n + gamma]
    return []
