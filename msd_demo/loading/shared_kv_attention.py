"""On the CPU, a verify's attention reads the grouped KV cache in place instead of copying it per layer.

A target with grouped-query attention (the tiny target: 8 query heads, 4 KV heads) shares each KV head
between query heads. transformers' SDPA path lets the kernel do that sharing (`enable_gqa`) only when no
mask is given, which is a single-token step; a verify's chain of gamma + 1 tokens, or a tree, needs a mask,
and then every layer copies the whole KV cache to repeat its heads (`repeat_kv`). On this CPU that copy was
most of the step from one token to two (session 36: a 5-token forward after a video prompt 6.5 -> 5.7-6.3 ms).
PyTorch's CPU kernel takes a mask and `enable_gqa` together, with the same result bit for bit.

On a GPU the stock path stays: there, a mask with `enable_gqa` sends SDPA to its slow math kernel.
"""

import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

SHARED_KV_SDPA = "msd_shared_kv_sdpa"


def shared_kv_sdpa(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None, **kwargs):
    """transformers' SDPA attention, but a masked attention with grouped KV heads shares them in the kernel."""
    grouped = getattr(module, "num_key_value_groups", 1) > 1
    if attention_mask is None or not grouped or kwargs.get("position_bias") is not None or kwargs.get("cache") is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    attended = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=dropout,
                                              scale=scaling, enable_gqa=True)
    return attended.transpose(1, 2).contiguous(), None  # [B, S, H, head_dim], as the stock path returns it


AttentionInterface.register(SHARED_KV_SDPA, shared_kv_sdpa)
AttentionMaskInterface.register(SHARED_KV_SDPA, sdpa_mask)  # the same masks as "sdpa" builds


def share_kv_heads_on_cpu(model) -> bool:
    """Switch a CPU model's language model from "sdpa" to shared_kv_sdpa; returns whether it did.
    Another attention (eager, a model without grouped KV heads) or another device is left as it is."""
    text_config = getattr(model.config, "text_config", None)
    config = text_config if text_config is not None else model.config
    heads, kv_heads = getattr(config, "num_attention_heads", 0), getattr(config, "num_key_value_heads", None)
    if model.device.type != "cpu" or config._attn_implementation != "sdpa" or not kv_heads or kv_heads >= heads:
        return False
    model.set_attn_implementation({"text_config": SHARED_KV_SDPA} if text_config is not None else SHARED_KV_SDPA)
    return True
