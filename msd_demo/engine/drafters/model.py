"""Drafting with a small model that shares the target's tokenizer.

`model`: a small VLM that sees the image too (standard speculative decoding).
`text-only`: a small LM that sees only the text of the prompt, never the image (Gagrani et al., 2024).
Both are this class: the draft model's own prompt decides what it sees.
"""

import torch

from msd_demo.engine.drafters.base import Draft, DraftRequest
from msd_demo.engine.model_cache import CachedModel
from msd_demo.engine.sampling import choose, make_generator, probabilities
from msd_demo.loading.models import LoadedModel


class ModelDrafter:
    uses_target_features = False

    def __init__(self, name: str, draft: LoadedModel):
        self.name = name
        self.draft = draft
        self.runner = CachedModel(draft.model)
        self.fed: list[int] = []  # generated tokens already in the draft's cache, after its prompt

    def begin(self, request: DraftRequest) -> None:
        self.sampling = request.sampling
        self.shared_vocab = min(self.draft.vocab_size, request.target_vocab_size)
        self.generator = make_generator(self.draft.device, request.sampling.seed + 1)
        prompt = self.draft.prompt(request.question, request.media)
        self.runner.prefill(prompt.model_inputs)
        self.fed = []

    def propose(self, generated: list[int], gamma: int, target_hidden=None) -> Draft:
        if max(generated) >= self.draft.vocab_size:
            # The target emitted an id the draft has no embedding for (a padded id): nothing sensible
            # to draft from here on, so the remaining steps are plain target steps.
            return Draft([], None)
        logits = self._catch_up(generated)
        token_ids, q = [], []
        for i in range(gamma):
            probs = probabilities(logits[: self.shared_vocab], self.sampling)
            token_ids.append(choose(probs, self.sampling, self.generator))
            q.append(probs)
            if i < gamma - 1:  # the last draft is fed on the next call, once we know it was kept
                logits = self.runner.forward(token_ids[-1:])[-1]
        self.fed = generated + token_ids[:-1]
        return Draft(token_ids, torch.stack(q) if q else None)

    def _catch_up(self, generated: list[int]) -> torch.Tensor:
        """Crop what the target rejected, feed what the draft has not seen; logits for the next token."""
        kept = _common_prefix_length(self.fed, generated)
        self.runner.rollback(len(self.fed) - kept)
        return self.runner.forward(generated[kept:])[-1]


def _common_prefix_length(a: list[int], b: list[int]) -> int:
    length = 0
    for x, y in zip(a, b):
        if x != y:
            break
        length += 1
    return length
