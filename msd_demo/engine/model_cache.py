"""A model plus its KV cache: one prefill, then forwards of a few tokens, and crops after rejections."""

from dataclasses import dataclass

import torch
from transformers import DynamicCache

from msd_demo.loading.models import input_device


@dataclass(frozen=True)
class TargetFeatures:
    """Features a forward computes anyway, kept for draft heads that draft from them."""

    hidden: torch.Tensor  # [S, d] the last layer's output, what the LM head reads; row i predicts token i + 1
    embeds: torch.Tensor | None = None  # [S, d] the first layer's input: at visual positions, the visual embeddings


class CachedModel:
    def __init__(self, model):
        self.model = model
        self.device = input_device(model)  # a model split over GPUs (device_map) takes its inputs here
        self.cache: DynamicCache | None = None
        # M-RoPE models (Qwen2-VL family) offset text positions after the image by a per-prompt delta.
        self.rope_delta: int | None = None

    @property
    def length(self) -> int:
        return self.cache.get_seq_length() if self.cache is not None else 0

    def prefill(self, model_inputs: dict) -> torch.Tensor:
        """Run the whole prompt (image included) once; returns the logits of the last position, [V]."""
        return self._prefill(model_inputs, with_features=False).logits[0, -1].to(self.device)  # split models: off the last GPU

    def prefill_with_features(self, model_inputs: dict) -> tuple[torch.Tensor, TargetFeatures]:
        """prefill, also returning the features the forward computed anyway (for draft heads)."""
        output = self._prefill(model_inputs, with_features=True)
        hidden, embeds = output.hidden_states[-1][0].to(self.device), output.hidden_states[0][0].to(self.device)
        return output.logits[0, -1].to(self.device), TargetFeatures(hidden=hidden, embeds=embeds)

    def forward(self, token_ids: list[int] | torch.Tensor) -> torch.Tensor:
        """Append token_ids to the cache; returns their logits, [S, V]."""
        return self._forward(token_ids, with_features=False).logits[0].to(self.device)

    def forward_tree(self, token_ids: torch.Tensor, positions: torch.Tensor, attend: torch.Tensor, with_features=False):
        """Append tree nodes to the cache, each at its own position, attending the whole cache before the last
        K - S entries and, among those and the nodes fed now, only where attend [S, K] is True.
        Returns logits [S, V] (and the last layer's features [S, d] with_features)."""
        prefix = self.length - (attend.shape[1] - attend.shape[0])
        visible = torch.cat([attend.new_ones(attend.shape[0], prefix), attend], dim=1)
        dtype = self.model.dtype
        # An additive float mask: eager attention adds the 4D mask it is given, so a boolean one would be misread.
        mask = torch.zeros(visible.shape, dtype=dtype, device=self.device).masked_fill(~visible, torch.finfo(dtype).min)
        output = self.model(
            input_ids=token_ids[None].to(self.device), past_key_values=self.cache, attention_mask=mask[None, None],
            position_ids=self._offset(positions.to(self.device)), use_cache=True, output_hidden_states=with_features,
        )
        logits = output.logits[0].to(self.device)
        return (logits, output.hidden_states[-1][0].to(self.device)) if with_features else logits

    def keep(self, start: int, indices: torch.Tensor) -> None:
        """Keep the entries before start, then those at indices (ascending, >= start) moved into place; drop the rest."""
        for layer in self.cache.layers:
            indices = indices.to(layer.keys.device)
            layer.keys[:, :, start: start + len(indices)] = layer.keys[:, :, indices]
            layer.values[:, :, start: start + len(indices)] = layer.values[:, :, indices]
        self.rollback(self.length - start - len(indices))

    def forward_with_features(self, token_ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """forward, also returning the last layer's features of token_ids ([S, V], [S, d])."""
        output = self._forward(token_ids, with_features=True)
        return output.logits[0].to(self.device), output.hidden_states[-1][0].to(self.device)

    def _prefill(self, model_inputs: dict, with_features: bool):
        inner = getattr(self.model, "model", None)
        if hasattr(inner, "rope_deltas"):
            inner.rope_deltas = None  # never reuse a delta computed for another prompt
        self.cache = DynamicCache(config=self.model.config)
        output = self.model(
            **model_inputs, past_key_values=self.cache, use_cache=True, logits_to_keep=1, output_hidden_states=with_features
        )
        deltas = getattr(inner, "rope_deltas", None)
        self.rope_delta = int(deltas.reshape(-1)[0]) if deltas is not None else None
        return output

    def _forward(self, token_ids: list[int], with_features: bool):
        start = self.length
        input_ids = torch.as_tensor(token_ids, device=self.device).view(1, -1)
        return self.model(
            input_ids=input_ids, past_key_values=self.cache, position_ids=self._positions(start, len(token_ids)),
            use_cache=True, output_hidden_states=with_features,
        )

    def rollback(self, num_tokens: int) -> None:
        """Drop the last num_tokens entries of the cache (rejected drafts)."""
        if num_tokens > 0:
            self.cache.crop(-num_tokens)  # transformers 5: a negative value removes that many tokens

    def _positions(self, start: int, count: int) -> torch.Tensor:
        return self._offset(torch.arange(start, start + count, device=self.device))

    def _offset(self, positions: torch.Tensor) -> torch.Tensor:
        """Sequence positions [S] -> the model's position ids."""
        if self.rope_delta is None:
            return positions[None]  # [1, S]
        # [3, 1, S]: temporal, height and width positions coincide for text tokens.
        return (positions + self.rope_delta).view(1, 1, -1).expand(3, 1, -1)
