"""The parts that ViSpec and FLASH add to a draft head (head.py), in plain torch.

- `VisionAdaptor`: N learned queries cross-attend over the prompt's visual embeddings (the target's
  first-layer inputs at image/video positions) and stand in for them, at N of the visual positions; and,
  for ViSpec, a pooled image feature projected for every text token's input.
- `AheadPath`: FLASH's extra output path. From g_i (the head's guess of the target's feature h_i) and the
  embedding of the token chosen from it, a guess of g_{i+1}: a second token from the same pass.

All of a prompt's visual tokens are compressed together, not each frame on its own: it is one call whatever
the media, and the order of frames is not lost because the cross-attention is rotary too (each key at its
visual token's position, each query at the position it stands at). A video of 6 frames x 9 tokens becomes
N entries of the head's cache, an image of 9 tokens as well.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class VisionAdaptor(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, self.num_heads, self.num_queries = config.hidden_size, config.num_heads, config.visual_queries
        if self.num_queries:
            self.queries = nn.Parameter(torch.randn(self.num_queries, d) * 0.02)
            self.key_norm = nn.RMSNorm(d, eps=config.norm_eps)
            self.query_proj = nn.Linear(d, d, bias=False)
            self.key_value = nn.Linear(d, 2 * d, bias=False)
            self.out = nn.Linear(d, d, bias=False)
        self.global_proj = nn.Linear(d, d) if config.global_feature else None

    def compress(
        self, visual_embeds: torch.Tensor, visual_positions: torch.Tensor, rotary: Callable
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """visual_embeds [V, d] at visual_positions [V] -> latents [N', d] at positions [N'], N' = min(N, V),
        spread evenly over the visual positions (first and last included)."""
        count, d = min(self.num_queries, len(visual_positions)), visual_embeds.shape[-1]
        chosen = torch.linspace(0, len(visual_positions) - 1, count, device=visual_positions.device).round().long()
        positions = visual_positions[chosen]
        heads, head_dim = self.num_heads, d // self.num_heads
        queries = self.queries[:count]
        q = self.query_proj(queries).view(count, heads, head_dim).transpose(0, 1)  # [H, N', head_dim]
        k, v = self.key_value(self.key_norm(visual_embeds)).view(-1, 2, heads, head_dim).permute(1, 2, 0, 3)  # [H, V, head_dim]
        attended = F.scaled_dot_product_attention(rotary(q, positions), rotary(k, visual_positions), v)
        return queries + self.out(attended.transpose(0, 1).reshape(count, d)), positions

    def global_feature(self, visual_embeds: torch.Tensor, visual_mask: torch.Tensor) -> torch.Tensor:
        """Mean visual embedding, projected: [S, d], [S] -> [d]; batched [B, S, d], [B, S] -> [B, 1, d]."""
        weights = visual_mask.to(visual_embeds.dtype)[..., None]
        pooled = (visual_embeds * weights).sum(-2) / weights.sum(-2).clamp(min=1.0)
        feature = self.global_proj(pooled) * (weights.sum(-2) > 0)  # rows without media get nothing
        return feature if feature.dim() == 1 else feature[:, None]


class AheadPath(nn.Module):
    """g_i and the embedding of token i + 1 (the one chosen from g_i) -> a guess of g_{i+1}."""

    def __init__(self, d: int, eps: float):
        super().__init__()
        self.fuse = nn.Linear(2 * d, d)
        self.mlp_norm, self.norm = nn.RMSNorm(d, eps=eps), nn.RMSNorm(d, eps=eps)
        self.gate_up = nn.Linear(d, 2 * d, bias=False)
        self.down = nn.Linear(d, d, bias=False)

    def forward(self, features: torch.Tensor, next_token_embeds: torch.Tensor) -> torch.Tensor:
        x = self.fuse(torch.cat([features, next_token_embeds], dim=-1))
        gate, up = self.gate_up(self.mlp_norm(x)).chunk(2, dim=-1)
        return self.norm(x + self.down(F.silu(gate) * up))
