"""Drafting with a small model that shares the target's tokenizer.

`model`: a small VLM that sees the image too (standard speculative decoding).
`text-only`: a small LM that sees only the text of the prompt, never the image (Gagrani et al., 2024).
Both are this class: the draft model's own prompt decides what it sees.

The draft's KV cache holds its prompt, the generated tokens it has seen, then the nodes of its last draft in
the order they were fed. On the next proposal the accepted nodes' entries are moved into place and the rest
dropped: nothing is computed twice.
"""

import torch

from msd_demo.engine.drafters.base import Draft, DraftRequest, as_draft
from msd_demo.engine.model_cache import CachedModel
from msd_demo.engine.sampling import make_generator, probabilities
from msd_demo.engine.tree import DraftShape, GrowingTree, finish, grow_draft
from msd_demo.loading.models import LoadedModel


class ModelDrafter:
    uses_target_features = False

    def __init__(self, name: str, draft: LoadedModel):
        self.name = name
        self.draft = draft
        self.runner = CachedModel(draft.model)

    def begin(self, request: DraftRequest) -> None:
        self.sampling = request.sampling
        self.shared_vocab = min(self.draft.vocab_size, request.target_vocab_size)
        self.generator = make_generator(self.draft.device, request.sampling.seed + 1)
        prompt = self.draft.prompt(request.question, request.media)
        self.runner.prefill(prompt.model_inputs)
        self.known: list[int] = []  # generated tokens in the cache after the prompt
        self.tree: GrowingTree | None = None  # the last draft, and its nodes in the cache, in the order fed
        self.fed_nodes: list[torch.Tensor] = []
        self.checked, self.usable = 0, True

    def propose(self, generated: list[int], shape: DraftShape, target_hidden=None) -> Draft:
        if not self._usable(generated):
            return Draft([], None)
        self.passes = 0
        root_q = self._catch_up(generated)
        self.tree_start, self.fed_nodes = self.runner.length, []
        self.tree = grow_draft(root_q, self._score, shape, self.sampling, self.generator)
        return as_draft(finish(self.tree, self.sampling), shape, self.passes)

    def _usable(self, generated: list[int]) -> bool:
        """False from the first id the draft has no embedding for (a padded id the target emitted): nothing
        sensible to draft from then on, so the remaining steps are plain target steps."""
        new, self.checked = generated[self.checked:], len(generated)
        self.usable = self.usable and (not new or max(new) < self.draft.vocab_size)
        return self.usable

    def _catch_up(self, generated: list[int]) -> torch.Tensor:
        """Keep the accepted nodes' cache entries, feed the generated tokens the draft has not seen; q of the next."""
        slots = self._accepted_slots(generated)
        if self.tree is not None:
            self.runner.keep(self.tree_start, torch.tensor(slots, dtype=torch.long) + self.tree_start)
        self.known = generated[: len(self.known) + len(slots)]
        logits = self.runner.forward(generated[len(self.known):])[-1]
        self.passes += 1
        self.known = list(generated)
        return probabilities(logits[: self.shared_vocab], self.sampling)

    def _accepted_slots(self, generated: list[int]) -> list[int]:
        """Where in the fed order the last draft's nodes now in `generated` stand (a path from the root)."""
        if self.tree is None or not self.fed_nodes:
            return []
        fed = torch.cat(self.fed_nodes)
        nodes, tokens, parents = torch.stack([fed, self.tree.tokens[fed], self.tree.parents[fed]]).tolist()
        slot_of = {(parent, token): slot for slot, (parent, token) in enumerate(zip(parents, tokens))}
        slots, node = [], -1
        for token in generated[len(self.known): -1]:  # the last token is fed in any case: its q is wanted
            slot = slot_of.get((node, token))
            if slot is None:
                break
            slots.append(slot)
            node = nodes[slot]
        return slots

    def _score(self, tree: GrowingTree, frontier: torch.Tensor) -> torch.Tensor:
        """One forward of the draft model over the frontier nodes: q of the token after each, [F, V]."""
        self.fed_nodes.append(frontier)
        self.passes += 1
        tokens = tree.tokens[frontier]
        if tree.shape.is_chain:  # one node a depth: plain causal attention
            logits = self.runner.forward(tokens)
        else:
            attend = tree.attention(frontier, torch.cat(self.fed_nodes))
            logits = self.runner.forward_tree(tokens, self.tree_start - 1 + tree.depths[frontier], attend)
        return probabilities(logits[:, : self.shared_vocab], self.sampling)
