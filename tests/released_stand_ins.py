"""Stand-ins for the seeds' released heads: random weights in exactly the authors' key layouts and config.json
fields, written as the hub repos hold them (config.json + model.safetensors or pytorch_model.bin, bf16 or fp16).
Written from our reading of the authors' code, independently of msd_demo/loading/released_heads.py's key table."""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from tests.tiny_models import seeded


def head_sizes(target) -> dict:
    text = target.model.config.text_config
    return {"d": text.hidden_size, "heads": text.num_attention_heads, "kv_heads": text.num_key_value_heads}


def checkpoint(head_format: str, target, rows: int, num_q: int = 2, seed: int = 21) -> tuple[dict, dict]:
    """(config.json, state dict) of a released head for target: its embedding rows copied, the rest random."""
    sizes = head_sizes(target)
    d, heads = sizes["d"], sizes["heads"]
    kv_heads = sizes["kv_heads"] if head_format == "msd-qwen2vl" else heads  # LLaVA's and ViSpec's heads: no grouping
    head_dim, inner = d // heads, 2 * d
    seeded(seed)

    def random(*shape, scale=0.3):
        return torch.randn(*shape) * scale

    state = {
        "embed_tokens.weight": target.model.get_input_embeddings().weight[:rows].detach().clone(),
        "fc.weight": random(d, 2 * d), "fc.bias": random(d),
        "layers.0.self_attn.q_proj.weight": random(heads * head_dim, d),
        "layers.0.self_attn.k_proj.weight": random(kv_heads * head_dim, d),
        "layers.0.self_attn.v_proj.weight": random(kv_heads * head_dim, d),
        "layers.0.self_attn.o_proj.weight": random(d, heads * head_dim),
        "layers.0.mlp.gate_proj.weight": random(inner, d), "layers.0.mlp.up_proj.weight": random(inner, d),
        "layers.0.mlp.down_proj.weight": random(d, inner),
        "layers.0.post_attention_layernorm.weight": 1 + random(d, scale=0.1),
    }
    config = {"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": d, "intermediate_size": inner,
              "num_attention_heads": heads, "num_hidden_layers": 1, "num_key_value_heads": kv_heads,
              "rms_norm_eps": 1e-5, "vocab_size": rows, "rope_scaling": None, "torch_dtype": "bfloat16"}
    if head_format == "msd-qwen2vl":
        config |= {"model_type": "qwen2_vl", "rms_norm_eps": 1e-6, "rope_theta": 1_000_000.0,
                   "rope_scaling": {"type": "mrope", "mrope_section": [1, 1, 2]}}
        biases = {"q": heads, "k": kv_heads, "v": kv_heads}
        state |= {"layers.0.input_layernorm.weight": 1 + random(d, scale=0.1),
                  **{f"layers.0.self_attn.{p}_proj.bias": random(n * head_dim) for p, n in biases.items()}}
    if head_format == "vispec":
        config |= {"qkv_bias": True}
        state |= {f"layers.0.self_attn.{p}_proj.bias": random(heads * head_dim) for p in "qkv"}
        state |= {"imadpt.q": random(num_q, heads, head_dim, scale=head_dim**-0.5),
                  "imadpt.k_proj.weight": random(d, d), "imadpt.k_proj.bias": random(d),
                  "imadpt.v_proj.weight": random(d, d), "imadpt.v_proj.bias": random(d),
                  "imadpt.o_proj.weight": random(d, d), "img_fc.weight": random(d, 2 * d), "img_fc.bias": random(d)}
    return config, state


def write_head(folder: Path, config: dict, state: dict, file_format: str, dtype: torch.dtype) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    state = {key: value.to(dtype).contiguous() for key, value in state.items()}
    if file_format == "safetensors":
        save_file(state, str(folder / "model.safetensors"))
    else:
        torch.save(state, folder / "pytorch_model.bin")
    return folder


# How each preset's released head is stood in for: its file and dtype (both kinds of file and dtype are covered).
FILES = {
    ("llava-1.5", "msd"): ("safetensors", torch.bfloat16),
    ("llava-1.5", "vispec"): ("bin", torch.float16),
    ("llava-1.5-13b", "msd"): ("bin", torch.float16),
    ("qwen2-vl", "msd"): ("bin", torch.bfloat16),
    ("qwen2.5-vl", "vispec"): ("safetensors", torch.bfloat16),
}


def with_released_heads(preset, folder: Path, tokenizer):
    """The preset with stand-ins of its released heads, each in a folder named as its hub repo (owner/name)."""
    import dataclasses

    from msd_demo.loading.models import load_model
    from msd_demo.presets.catalog import PRESETS

    target = load_model(preset.target, multimodal=True)
    heads = {}
    for drafter, head_format in PRESETS[preset.name].released_heads.items():
        file_format, dtype = FILES[preset.name, drafter]
        rows = len(tokenizer) if head_format == "msd-llava" else target.vocab_size  # MSD's LLaVA: 32,000 of 32,064
        config, state = checkpoint(head_format, target, rows)
        heads[drafter] = str(write_head(folder / PRESETS[preset.name].draft_models[drafter], config, state, file_format, dtype))
    return dataclasses.replace(preset, draft_models={**preset.draft_models, **heads},
                               released_heads=PRESETS[preset.name].released_heads)
