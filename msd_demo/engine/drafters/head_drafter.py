"""`msd` (Lin et al., 2025): a draft head on the target's own features, text and visual tokens apart.

The head (head.py) borrows the target's embedding and LM head. It knows the target's feature of every
token the target has verified (handed over by the engine from the forwards it ran anyway) and stands in
its own predictions for the tokens it drafts. Its ablations are the same drafter with other weights, and
so is `vispec`: its head compresses the prompt's visual tokens (the cache then holds fewer entries than the
sequence has tokens: `dropped` of them) and adds a global image feature to every text token's input.
"""

import torch

from msd_demo.engine.drafters.base import Draft, DraftRequest
from msd_demo.engine.drafters.head_model import DraftHead, KVCache
from msd_demo.engine.sampling import choose, make_generator, probabilities
from msd_demo.loading.models import LoadedModel


class HeadDrafter:
    uses_target_features = True

    def __init__(self, name: str, head: DraftHead, target: LoadedModel):
        self.name = name
        self.head = head
        self.embed = target.model.get_input_embeddings()
        self.lm_head = target.model.get_output_embeddings()
        self.device = target.device

    def begin(self, request: DraftRequest) -> None:
        features, prompt = request.target_features, request.target_prompt
        if features is None or features.embeds is None:
            raise ValueError(f"the {self.name} drafter drafts from the target's features, and none were given")
        self.sampling = request.sampling
        self.generator = make_generator(self.device, request.sampling.seed + 1)
        self.prompt_ids = prompt.input_ids[0].tolist()
        self.known = features.hidden  # [n, d] the target's features of every token but the last
        self.cache = KVCache()
        # The whole prompt once: visual positions from the target's visual embeddings (first-layer inputs).
        ids = prompt.input_ids[0]
        previous = torch.cat([torch.zeros_like(features.hidden[:1]), features.hidden[:-1]])
        visual_mask = prompt.visual_mask.to(self.device)
        self.image = self.head.image_feature(features.embeds, visual_mask)  # ViSpec's global feature, else None
        inputs = self.head.inputs(self.embed(ids), previous, features.embeds, visual_mask, self.image)
        inputs, positions = self.head.compress(inputs, features.embeds, visual_mask)
        self.head(inputs[None], positions, self.cache)
        self.fed = len(ids)  # sequence positions computed from the target's true features
        self.dropped = len(ids) - len(positions)  # visual positions the head's cache holds no entry for

    def propose(self, generated: list[int], gamma: int, target_hidden: torch.Tensor | None = None) -> Draft:
        feature, position = self._start_draft(generated, target_hidden)
        token_ids, q = [], []
        for i in range(gamma):
            probs = probabilities(self.lm_head(feature), self.sampling)
            token_ids.append(choose(probs, self.sampling, self.generator))
            q.append(probs)
            if i < gamma - 1:  # the head's own prediction g stands in for the target feature not yet computed
                feature = self._step(torch.tensor(token_ids[-1:], device=self.device), feature[None], position + i)[-1]
        return Draft(token_ids, torch.stack(q) if q else None, passes=max(gamma, 1))  # the catch-up, then one a token

    def _start_draft(self, generated: list[int], target_hidden: torch.Tensor | None) -> tuple[torch.Tensor, int]:
        """Take the target's features of the tokens just verified and catch up on them (one pass); returns g of
        the last verified token and the position where the first drafted token will stand."""
        if target_hidden is not None and len(target_hidden):
            self.known = torch.cat([self.known, target_hidden])
        return self._catch_up(self.prompt_ids + generated), len(self.prompt_ids) + len(generated)

    def _catch_up(self, sequence: list[int]) -> torch.Tensor:
        """Drop the head's guesses from the last draft, feed the verified tokens with the target's true
        features; returns g of the last token, [d]."""
        last = len(sequence) - 1
        if self.known.shape[0] != last:
            raise RuntimeError(f"the head knows {self.known.shape[0]} target features for {last} verified tokens")
        self.cache.crop(self.fed - self.dropped)  # the cache's length, not the sequence's
        ids = torch.tensor(sequence[self.fed:], device=self.device)
        features = self._step(ids, self.known[self.fed - 1: last], self.fed)
        self.fed = len(sequence)
        return features[-1]

    def _step(self, ids: torch.Tensor, previous_features: torch.Tensor, start: int) -> torch.Tensor:
        """Feed tokens at positions start.. with the features before them; returns their g, [S, d]."""
        inputs = self.head.inputs(self.embed(ids), previous_features, image=self.image)
        positions = torch.arange(start, start + len(ids), device=self.device)
        return self.head(inputs[None], positions, self.cache)[0]
