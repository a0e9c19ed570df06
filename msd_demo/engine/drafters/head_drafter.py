"""`msd` (Lin et al., 2025): a draft head on the target's own features, text and visual tokens apart.

The head (head.py) borrows the target's embedding and LM head. It knows the target's feature of every
token the target has verified (handed over by the engine from the forwards it ran anyway) and stands in
its own predictions for the tokens it drafts. Its ablations are the same drafter with other weights, and
so is `vispec`: its head compresses the prompt's visual tokens (the cache then holds fewer entries than the
sequence has tokens: `dropped` of them) and adds a global image feature to every text token's input.

A draft's nodes enter the head's cache with the head's own guesses g as features. After verification they
are dropped and the accepted tokens fed again with the target's true features (as EAGLE does): a better
input for the next draft, and one pass over the few accepted tokens.
"""

import torch

from msd_demo.engine.drafters.base import Draft, DraftRequest, as_draft
from msd_demo.engine.drafters.head_model import DraftHead, KVCache
from msd_demo.engine.sampling import make_generator, probabilities
from msd_demo.engine.tree import DraftShape, GrowingTree, finish, grow_draft
from msd_demo.loading.models import LoadedModel


class HeadDrafter:
    uses_target_features = True

    def __init__(self, name: str, head: DraftHead, target: LoadedModel):
        self.name = name
        self.head = head
        self.embed = target.model.get_input_embeddings()
        self.lm_head = target.model.get_output_embeddings()
        self.device = target.device
        self.per_pass = head.config.tokens_per_pass

    def begin(self, request: DraftRequest) -> None:
        features, prompt = request.target_features, request.target_prompt
        if features is None or features.embeds is None:
            raise ValueError(f"the {self.name} drafter drafts from the target's features, and none were given")
        self.sampling = request.sampling
        self.generator = make_generator(self.device, request.sampling.seed + 1)
        self.prompt_ids = prompt.input_ids[0].tolist()
        self.cache = KVCache()
        # The whole prompt once: visual positions from the target's visual embeddings (first-layer inputs).
        ids = prompt.input_ids[0]
        inputs, positions, self.image = self._prompt_inputs(ids, features, prompt.visual_mask.to(self.device))
        self.head(inputs[None], positions, self.cache)
        self.fed = len(ids)  # sequence positions computed from the target's true features
        self.dropped = len(ids) - len(positions)  # visual positions the head's cache holds no entry for
        self.unfed = features.hidden[-1:]  # target features known but not yet fed: here the prompt's last one

    def _prompt_inputs(self, ids: torch.Tensor, features, visual_mask: torch.Tensor):
        """The prompt's head inputs [S, d], their positions [S] and ViSpec's global image feature (else None)."""
        previous = torch.cat([torch.zeros_like(features.hidden[:1]), features.hidden[:-1]])
        image = self.head.image_feature(features.embeds, visual_mask)
        inputs = self.head.inputs(self.embed(ids), previous, features.embeds, visual_mask, image)
        inputs, positions = self.head.compress(inputs, features.embeds, visual_mask)
        return inputs, positions, image

    def propose(self, generated: list[int], shape: DraftShape, target_hidden: torch.Tensor | None = None) -> Draft:
        self.passes = 1  # the catch-up
        g_root = self._catch_up(self.prompt_ids + generated, target_hidden)
        self.root_position = len(self.prompt_ids) + len(generated) - 1
        self.tree_start = self.cache.length
        # g of each node (row 1 + i; row 0 the root): what predicts its children, and is fed with them.
        self.node_g = g_root.new_zeros(1 + shape.most_nodes, g_root.shape[-1])
        self.node_g[0] = g_root
        self.in_cache = torch.zeros(len(self.node_g) - 1, dtype=torch.bool, device=self.device)  # FLASH's
        self.fed_nodes = torch.empty(0, dtype=torch.long, device=self.device)  # a tree's, in the order fed
        self.depth = 0  # of the nodes the next score call is for, less one
        root_q = probabilities(self.lm_head(g_root), self.sampling)
        tree = grow_draft(root_q, self._score, shape, self.sampling, self.generator)
        return as_draft(finish(tree, self.sampling), shape, self.passes)

    def _catch_up(self, sequence: list[int], target_hidden: torch.Tensor | None) -> torch.Tensor:
        """Drop the head's guesses from the last draft, feed the verified tokens with the target's true
        features; returns g of the last token, [d]."""
        features = self.unfed if target_hidden is None else torch.cat([self.unfed, target_hidden])
        if self.fed - 1 + len(features) != len(sequence) - 1:
            raise RuntimeError(f"the head knows {self.fed - 1 + len(features)} target features for {len(sequence) - 1} verified tokens")
        self.cache.crop(self.fed - self.dropped)  # the cache's length, not the sequence's
        ids = torch.tensor(sequence[self.fed:], device=self.device)
        g = self._feed(ids, features, torch.arange(self.fed, len(sequence), device=self.device))
        self.fed, self.unfed = len(sequence), features[:0]
        return g[-1]

    def _score(self, tree: GrowingTree, frontier: torch.Tensor) -> torch.Tensor:
        """q of the token after each frontier node, [F, V]: from a pass of the head's decoder layer, or (FLASH,
        within a pass's k tokens) from its extra path's guess of the next g."""
        rows, self.depth = frontier + 1, self.depth + 1
        if self.depth % self.per_pass == 0:
            self._pass(tree, frontier)
        else:
            parent_g = self.node_g[tree.parents[frontier] + 1]
            self.node_g[rows] = self.head.ahead(parent_g, self.embed(tree.tokens[frontier]))
        return probabilities(self.lm_head(self.node_g[rows]), self.sampling)

    def _pass(self, tree: GrowingTree, frontier: torch.Tensor) -> None:
        """Feed the frontier and its ancestors not yet in the cache, each with the g that predicted it."""
        pending = frontier if self.per_pass == 1 else self._not_in_cache(tree, frontier)
        if self.per_pass > 1:
            self.in_cache[pending] = True
        attend = None
        if not tree.shape.is_chain:  # the verified prefix, then the nodes' ancestors among the fed ones
            self.fed_nodes = torch.cat([self.fed_nodes, pending])
            tree_part = tree.attention(pending, self.fed_nodes)
            attend = torch.cat([tree_part.new_ones(len(pending), self.tree_start), tree_part], dim=1)
        positions = self.root_position + tree.depths[pending]
        self.node_g[pending + 1] = self._feed(tree.tokens[pending], self.node_g[tree.parents[pending] + 1], positions, attend)
        self.passes += 1

    def _not_in_cache(self, tree: GrowingTree, frontier: torch.Tensor) -> torch.Tensor:
        """The frontier's ancestors (itself included) the head has not fed yet, parents first."""
        wanted = tree.ancestors[frontier].any(dim=0) & ~self.in_cache[: tree.size]
        return wanted.nonzero().flatten()

    def _feed(self, ids: torch.Tensor, previous_features: torch.Tensor, positions: torch.Tensor, attend=None) -> torch.Tensor:
        """Feed tokens at positions with the features before them; returns their g, [S, d]."""
        inputs = self.head.inputs(self.embed(ids), previous_features, image=self.image)
        return self.head(inputs[None], positions, self.cache, attend)[0]
