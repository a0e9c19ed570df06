"""A one-layer draft head that drafts from the target's own features (EAGLE-style), in plain torch.

The head's input at sequence position i:
- text positions fuse the embedding of token i with the target's feature h_{i-1}, the feature that
  predicted token i;
- with `decoupled` (MSD), visual positions take the target's visual embedding at i instead, so image
  tokens enter as what they are rather than as a placeholder token with a feature;
- with `visual_feature` as well, a visual position's own projection reads both its visual embedding and the
  target's feature h_{i-1}: apart from text still, but not blind to what the target made of the image so far.
One decoder layer maps the inputs to g_i, a prediction of the target's feature h_i, which the target's own
LM head reads: q(token i + 1). While drafting, g_i stands in for the h_i the target has not computed yet.
The target's embedding and LM head are borrowed at run time, so a head stores only its own ~1 M weights.

Switches for the heads of ViSpec and FLASH (all off for msd, whose saved configs load unchanged):
- `visual_queries` N > 0: the prompt's visual tokens are compressed into N learned queries that stand at N
  of the visual positions (vision_adaptor.py); text positions keep their own positions, so the head's
  cache holds fewer entries than the sequence has tokens.
- `global_feature`: a pooled image feature, projected, is added to every text token's input (ViSpec).
- `tokens_per_pass` k > 1: a small extra output path turns g_i and the token it chose into a guess of
  g_{i+1}, so one pass of the decoder layer drafts k tokens (FLASH's semi-autoregressive drafting).
"""

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from msd_demo.engine.drafters.vision_adaptor import AheadPath, VisionAdaptor

CONFIG_FILE, WEIGHTS_FILE = "head_config.json", "head.safetensors"


@dataclass(frozen=True)
class HeadConfig:
    hidden_size: int  # the target's: the head reads and predicts the target's features
    num_heads: int
    intermediate_size: int
    decoupled: bool = True  # MSD: visual positions take the visual embeddings, not fused text inputs
    visual_feature: bool = False  # decoupled visual positions also read the target's feature h_{i-1}
    rope_theta: float = 10_000.0
    norm_eps: float = 1e-6
    visual_queries: int = 0  # 0: every visual token enters; N: N learned queries over them (ViSpec, FLASH)
    global_feature: bool = False  # ViSpec: a pooled image feature added to every text token's input
    tokens_per_pass: int = 1  # FLASH: tokens drafted per pass of the decoder layer

    def __post_init__(self):
        if self.visual_feature and (not self.decoupled or self.visual_queries):
            # Compressed queries stand for many positions, so no single h_{i-1} goes with them.
            raise ValueError("visual_feature needs decoupled visual positions and no visual_queries")


class KVCache:
    """Keys and values of the positions fed so far, [1, heads, T, head_dim]; cropped after rejections."""

    def __init__(self):
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.keys is None else self.keys.shape[2]

    def append(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.keys is not None:
            keys, values = torch.cat([self.keys, keys], dim=2), torch.cat([self.values, values], dim=2)
        self.keys, self.values = keys, values
        return keys, values

    def crop(self, length: int) -> None:
        if self.keys is not None:
            self.keys, self.values = self.keys[:, :, :length], self.values[:, :, :length]


class DraftHead(nn.Module):
    def __init__(self, config: HeadConfig):
        super().__init__()
        self.config = config
        d, eps = config.hidden_size, config.norm_eps
        self.fuse = nn.Linear(2 * d, d)  # text: [embedding of token i ; target feature h_{i-1}]
        # visual: the target's visual embedding (and, with visual_feature, h_{i-1} beside it)
        self.visual = nn.Linear(2 * d if config.visual_feature else d, d) if config.decoupled else None
        # The target's first layer reads its visual embeddings through a norm (they are ~100x a feature's size
        # here); so does the head, or they would drown the feature beside them.
        self.visual_norm = nn.RMSNorm(d, eps=eps) if config.visual_feature else None
        self.attention_norm, self.mlp_norm, self.norm = nn.RMSNorm(d, eps=eps), nn.RMSNorm(d, eps=eps), nn.RMSNorm(d, eps=eps)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.attention_out = nn.Linear(d, d, bias=False)
        self.gate_up = nn.Linear(d, 2 * config.intermediate_size, bias=False)
        self.down = nn.Linear(config.intermediate_size, d, bias=False)
        self.adaptor = VisionAdaptor(config) if config.visual_queries or config.global_feature else None
        self.ahead = AheadPath(d, eps) if config.tokens_per_pass > 1 else None
        head_dim = d // config.num_heads
        inverse_frequencies = config.rope_theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inverse_frequencies", inverse_frequencies, persistent=False)

    def inputs(self, token_embeds, previous_features, visual_embeds=None, visual_mask=None, image=None) -> torch.Tensor:
        """[..., d] per position; visual_mask [...] marks image/video tokens (their visual_embeds are used);
        image: the global image feature ([d], or [B, 1, d]) added to text inputs, from `image_feature`."""
        fused = self.fuse(torch.cat([token_embeds, previous_features], dim=-1))
        if image is not None:
            fused = fused + image
        if self.visual is None or visual_mask is None or not bool(visual_mask.any()):
            return fused  # without decoupling, a visual position is a placeholder token fused with a feature
        if self.config.visual_feature:  # the visual embedding (normed, as the target reads it) beside h_{i-1}
            visual_embeds = torch.cat([self.visual_norm(visual_embeds), previous_features], dim=-1)
        return torch.where(visual_mask[..., None], self.visual(visual_embeds), fused)

    def image_feature(self, visual_embeds: torch.Tensor, visual_mask: torch.Tensor) -> torch.Tensor | None:
        """ViSpec's global feature, [d] ([B, 1, d] for a batch); None for heads without it or prompts without media."""
        if self.adaptor is None or not self.config.global_feature or not bool(visual_mask.any()):
            return None
        return self.adaptor.global_feature(visual_embeds, visual_mask)

    def compress(self, inputs: torch.Tensor, visual_embeds, visual_mask) -> tuple[torch.Tensor, torch.Tensor]:
        """One sequence's inputs [S, d] -> (inputs [S', d], their positions [S']): with visual_queries, the
        visual positions are replaced by the queries' latents; otherwise all of it, at positions 0..S-1."""
        everything = torch.arange(inputs.shape[0], device=inputs.device)
        if self.adaptor is None or not self.config.visual_queries or visual_mask is None or not bool(visual_mask.any()):
            return inputs, everything
        latents, query_positions = self.adaptor.compress(visual_embeds[visual_mask], everything[visual_mask], self.rotary)
        keep = ~visual_mask
        keep[query_positions] = True
        inputs = inputs.clone()
        inputs[query_positions] = latents if self.visual is None else self.visual(latents)
        return inputs[keep], everything[keep]

    def rotary(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Rotary position embedding of x [..., H, S, head_dim] at positions [S]."""
        cos, sin = self._rotation(positions, x.dtype)
        return _rotate(x, cos, sin)

    def forward(self, inputs: torch.Tensor, positions: torch.Tensor, cache: KVCache | None = None, attend=None) -> torch.Tensor:
        """inputs [B, S, d], positions [S] or [B, S] -> predicted features [B, S, d] (the LM head's input).
        attend [S, past + S] bool: which cached and new positions each input may attend (a draft tree's);
        without it, causal."""
        batch, length, d = inputs.shape
        heads = self.config.num_heads
        q, k, v = self.qkv(self.attention_norm(inputs)).view(batch, length, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        cos, sin = self._rotation(positions, inputs.dtype)
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.append(k, v)
        if attend is not None:
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
        elif past == 0:  # training, or a prompt fed whole: plain causal attention
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=length > 1)
        else:
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=_causal_mask(length, past, q.device))
        x = inputs + self.attention_out(attended.transpose(1, 2).reshape(batch, length, d))
        gate, up = self.gate_up(self.mlp_norm(x)).chunk(2, dim=-1)
        x = x + self.down(F.silu(gate) * up)
        return self.norm(x)

    def _rotation(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        angles = positions.to(self.inverse_frequencies)[..., None] * self.inverse_frequencies  # [(B,) S, head_dim / 2]
        if angles.dim() == 3:  # per-row positions (a training batch of compressed sequences): broadcast over heads
            angles = angles[:, None]
        return angles.cos().to(dtype), angles.sin().to(dtype)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding (rotate-half form) on [B, H, S, head_dim]."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


def _causal_mask(length: int, past: int, device) -> torch.Tensor | None:
    """Query i (at position past + i) sees keys 0 .. past + i; None when a single query sees everything."""
    if length == 1:
        return None
    keys = torch.arange(past + length, device=device)
    return keys[None, :] <= (past + torch.arange(length, device=device))[:, None]


def save_head(head: DraftHead, folder: str | Path, record: dict | None = None) -> None:
    """fp16 weights plus the config (and how the head was trained, for the model card)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = {name: value.detach().to("cpu", torch.float16).contiguous() for name, value in head.state_dict().items()}
    save_file(weights, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps({**asdict(head.config), "training": record or {}}, indent=2) + "\n")


def load_head(folder: str | Path, device: torch.device, dtype: torch.dtype) -> DraftHead:
    folder = Path(folder)
    saved = json.loads((folder / CONFIG_FILE).read_text())
    config = HeadConfig(**{f.name: saved[f.name] for f in fields(HeadConfig) if f.name in saved})
    head = DraftHead(config)
    head.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return head.to(device=device, dtype=dtype).eval()
