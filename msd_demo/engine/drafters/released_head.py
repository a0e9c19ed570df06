"""The seeds' own released draft heads (MSD: lucylyn/MSD-*; ViSpec: JLKang/ViSpec-*), run as their authors run
them, inside our one proposal loop (head_drafter.HeadDrafter). The files and key tables: loading/released_heads.py.

Both are EAGLE heads: one decoder layer over a fused input, read by the target's own LM head. Our sequence
position i pairs token i with the target's feature h_{i-1} (the authors number the same pair t = i - 1 and feed
token t + 1 with h_t; the rotary positions below are theirs). The prompt's first token has no feature before it
and never enters the head's cache, as in their code.
- MSD (Lin et al. 2025): input_i = fc([embed(token i); h_{i-1}]); where token i is visual, the target's visual
  embedding (the projector's output) replaces it. Layer 0 of the LLaVA heads reads its input unnormed (EAGLE-1);
  the Qwen2-VL head norms it and has q, k, v biases and grouped keys. Positions are a plain 1-D count.
- ViSpec (Kang et al. 2025): each image's visual embeddings go through an adaptor: N learned queries attend over
  them (no positions, no norm); the first N - 1 results enter the cache at the image's last N - 1 positions, the
  last is the image's global feature G. Every text input is fc([embed(token i); img_fc([h_{i-1}; G])]), with the
  latest image's G (zeros before any image).
No final norm: the layer's output is the head's guess g of the target's feature, for the target's LM head. The
LLaVA heads know 32,000 ids where llava-hf's LM head has 32,064: drafts are made over the head's ids only, and
an id past them (an emitted <image>) is embedded as zeros, never looked up.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from msd_demo.engine.drafters.head_drafter import HeadDrafter
from msd_demo.engine.drafters.head_model import KVCache
from msd_demo.loading.models import LoadedModel


@dataclass(frozen=True)
class ReleasedHeadConfig:
    method: str  # "msd" or "vispec"
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    vocab_rows: int  # the head's own embedding rows
    rope_theta: float = 10_000.0
    rms_norm_eps: float = 1e-6
    qkv_bias: bool = False
    fc_bias: bool = True
    input_norm: bool = False  # MSD-Qwen2VL's layer 0 norms its input; EAGLE-1's (LLaVA, ViSpec) does not
    image_queries: int = 0  # ViSpec's num_q (N); 0 for MSD
    tokens_per_pass: int = 1  # what HeadDrafter asks of every head


class RMSNorm(nn.Module):
    """As Llama and Qwen compute it: in float32, cast back, then scaled."""

    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(size)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wide = x.float()
        return self.weight * (wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


class ImageAdaptor(nn.Module):
    """ViSpec's imadpt: N learned queries [N, heads, head_dim] attend over an image's visual embeddings."""

    def __init__(self, config: ReleasedHeadConfig):
        super().__init__()
        d, heads = config.hidden_size, config.num_heads
        self.heads = heads
        self.queries = nn.Parameter(torch.zeros(config.image_queries, heads, d // heads))
        self.key = nn.Linear(d, d, bias=config.qkv_bias)
        self.value = nn.Linear(d, d, bias=config.qkv_bias)
        self.out = nn.Linear(d, d, bias=False)

    def forward(self, visual_embeds: torch.Tensor) -> torch.Tensor:
        """[V, d] -> [N, d]"""
        count, d = visual_embeds.shape
        k = self.key(visual_embeds).view(count, self.heads, -1).transpose(0, 1)  # [H, V, head_dim]
        v = self.value(visual_embeds).view(count, self.heads, -1).transpose(0, 1)
        attended = F.scaled_dot_product_attention(self.queries.transpose(0, 1).to(k.dtype), k, v)  # [H, N, head_dim]
        return self.out(attended.transpose(0, 1).reshape(-1, d))


class ReleasedHead(nn.Module):
    def __init__(self, config: ReleasedHeadConfig):
        super().__init__()
        self.config = config
        d, heads, kv_heads = config.hidden_size, config.num_heads, config.num_kv_heads
        head_dim = d // heads
        self.token_embedding = nn.Embedding(config.vocab_rows, d)
        self.fuse = nn.Linear(2 * d, d, bias=config.fc_bias)
        self.attention_norm = RMSNorm(d, config.rms_norm_eps) if config.input_norm else None
        self.query = nn.Linear(d, heads * head_dim, bias=config.qkv_bias)
        self.key = nn.Linear(d, kv_heads * head_dim, bias=config.qkv_bias)
        self.value = nn.Linear(d, kv_heads * head_dim, bias=config.qkv_bias)
        self.attention_out = nn.Linear(heads * head_dim, d, bias=False)
        self.mlp_norm = RMSNorm(d, config.rms_norm_eps)
        self.gate = nn.Linear(d, config.intermediate_size, bias=False)
        self.up = nn.Linear(d, config.intermediate_size, bias=False)
        self.down = nn.Linear(config.intermediate_size, d, bias=False)
        self.adaptor = ImageAdaptor(config) if config.image_queries else None
        self.image_fuse = nn.Linear(2 * d, d, bias=config.fc_bias) if config.image_queries else None
        inverse_frequencies = 1.0 / config.rope_theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inverse_frequencies", inverse_frequencies, persistent=False)
        self.ahead = None  # one token per pass

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """The head's own embedding; ids past its rows read zeros."""
        rows = self.config.vocab_rows
        known = (ids < rows)[..., None]
        return self.token_embedding(ids.clamp(max=rows - 1)) * known

    def inputs(self, token_embeds, previous_features, image=None) -> torch.Tensor:
        """Text inputs [..., d]: token i's embedding fused with h_{i-1} (for ViSpec, h_{i-1} beside G first)."""
        if self.image_fuse is not None:
            image = previous_features.new_zeros(previous_features.shape[-1]) if image is None else image
            previous_features = self.image_fuse(torch.cat([previous_features, image.expand_as(previous_features)], dim=-1))
        return self.fuse(torch.cat([token_embeds, previous_features], dim=-1))

    def prompt_inputs(self, token_embeds, hidden, visual_embeds, visual_mask):
        """The prompt [L] -> (inputs [S, d], their positions [S], ViSpec's G of the last image or None)."""
        previous = torch.cat([torch.zeros_like(hidden[:1]), hidden[:-1]])
        if self.adaptor is None:  # MSD: a visual position is its visual embedding
            inputs = torch.where(visual_mask[:, None], visual_embeds, self.inputs(token_embeds, previous))
            return inputs[1:], torch.arange(1, len(hidden), device=hidden.device), None
        rows, positions, image, start = [], [], None, 1
        for run_start, run_end in [*visual_runs(visual_mask), (len(hidden), len(hidden))]:
            rows.append(self.inputs(token_embeds[start:run_start], previous[start:run_start], image))
            positions.append(torch.arange(start, run_start, device=hidden.device))
            if run_start < run_end:  # N - 1 query results stand at the image's last positions; the last one is G
                adapted = self.adaptor(visual_embeds[run_start:run_end])
                rows.append(adapted[:-1])
                positions.append(torch.arange(run_end - len(adapted) + 1, run_end, device=hidden.device))
                image = adapted[-1]
            start = run_end
        return torch.cat(rows), torch.cat(positions), image

    def forward(self, inputs: torch.Tensor, positions: torch.Tensor, cache: KVCache | None = None, attend=None) -> torch.Tensor:
        """inputs [1, S, d] at positions [S] (ours: token indices) -> g [1, S, d]. attend [S, past + S] bool: whom
        each input may attend (a draft tree's); without it, causal."""
        batch, length, d = inputs.shape
        heads, kv_heads = self.config.num_heads, self.config.num_kv_heads
        x = inputs if self.attention_norm is None else self.attention_norm(inputs)
        q = self.query(x).view(batch, length, heads, -1).transpose(1, 2)
        k = self.key(x).view(batch, length, kv_heads, -1).transpose(1, 2)
        v = self.value(x).view(batch, length, kv_heads, -1).transpose(1, 2)
        cos, sin = self._rotation(positions - 1, inputs.dtype)  # the authors' numbering
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.append(k, v)
        k, v = k.repeat_interleave(heads // kv_heads, dim=1), v.repeat_interleave(heads // kv_heads, dim=1)
        if attend is None and length > 1:
            attend = torch.arange(past + length, device=q.device)[None] <= past + torch.arange(length, device=q.device)[:, None]
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
        x = inputs + self.attention_out(attended.transpose(1, 2).reshape(batch, length, -1))
        normed = self.mlp_norm(x)
        return x + self.down(F.silu(self.gate(normed)) * self.up(normed))

    def _rotation(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        angles = positions.to(self.inverse_frequencies)[:, None] * self.inverse_frequencies
        angles = torch.cat([angles, angles], dim=-1)  # rotate-half layout: [S, head_dim]
        return angles.cos().to(dtype), angles.sin().to(dtype)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-second, first], dim=-1) * sin


def visual_runs(visual_mask: torch.Tensor) -> list[tuple[int, int]]:
    """[L] bool -> (start, end) of each run of visual positions, end exclusive (one host sync, at the prompt)."""
    flags = visual_mask.tolist()
    starts = [i for i, flag in enumerate(flags) if flag and (i == 0 or not flags[i - 1])]
    ends = [i + 1 for i, flag in enumerate(flags) if flag and (i + 1 == len(flags) or not flags[i + 1])]
    return list(zip(starts, ends))


class ReleasedHeadDrafter(HeadDrafter):
    """HeadDrafter with the head's own embedding, drafts over the ids the head knows, and the authors' prompt."""

    def __init__(self, name: str, head: ReleasedHead, target: LoadedModel):
        super().__init__(name, head, target)
        rows = min(head.config.vocab_rows, target.vocab_size)
        target_lm_head = self.lm_head
        self.embed = head.embed
        self.lm_head = lambda features: target_lm_head(features)[..., :rows]

    def _prompt_inputs(self, ids, features, visual_mask):
        return self.head.prompt_inputs(self.embed(ids), features.hidden, features.embeds, visual_mask)
