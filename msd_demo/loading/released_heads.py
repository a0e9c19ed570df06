"""The seeds' released draft heads as files: config.json and pytorch_model.bin or model.safetensors (fp16 or
bf16), read from a folder or the hub, checked against an explicit key table per format and loaded strictly.

Formats (read from the authors' code: Lyn-Lucy/MSD EAGLE/eagle/model/cnets.py, ea_model.py; KangJialiang/ViSpec
vispec/model/cnets_ours.py, spec_model_ours.py):
- `msd-llava` (lucylyn/MSD-LLaVA1.5-*): EAGLE-1's layer 0 (no input norm), q, k, v biases only if the config sets
  qkv_bias, fc bias unless the config says "bias": false.
- `msd-qwen2vl` (lucylyn/MSD-Qwen2VL-7B-Instruct): Qwen2-VL's layer (input norm, q, k, v biases always).
- `vispec` (JLKang/ViSpec-*): msd-llava's layout plus the image adaptor `imadpt.*` and `img_fc`; the number of
  adaptor queries (the authors' num_q, a run-time argument there) is read from imadpt.q's shape.
A missing or unexpected key, or a shape the config does not call for, is refused with its name: a wrong file
never loads quietly (the authors' load_state_dict(strict=False) would leave random weights in place).
"""

import json
import pickle
from pathlib import Path

import torch

from msd_demo.engine.drafters.released_head import ReleasedHead, ReleasedHeadConfig
from msd_demo.errors import UserInputError
from msd_demo.loading import hub
from msd_demo.loading.sources import check_model_source

CONFIG_FILE, SAFETENSORS_FILE, PICKLE_FILE = "config.json", "model.safetensors", "pytorch_model.bin"
LAYER = "layers.0."
# checkpoint key -> our parameter (released_head.ReleasedHead)
CORE = {
    "embed_tokens.weight": "token_embedding.weight",
    "fc.weight": "fuse.weight",
    LAYER + "self_attn.q_proj.weight": "query.weight",
    LAYER + "self_attn.k_proj.weight": "key.weight",
    LAYER + "self_attn.v_proj.weight": "value.weight",
    LAYER + "self_attn.o_proj.weight": "attention_out.weight",
    LAYER + "mlp.gate_proj.weight": "gate.weight",
    LAYER + "mlp.up_proj.weight": "up.weight",
    LAYER + "mlp.down_proj.weight": "down.weight",
    LAYER + "post_attention_layernorm.weight": "mlp_norm.weight",
}
FC_BIAS = {"fc.bias": "fuse.bias"}
QKV_BIAS = {
    LAYER + "self_attn.q_proj.bias": "query.bias",
    LAYER + "self_attn.k_proj.bias": "key.bias",
    LAYER + "self_attn.v_proj.bias": "value.bias",
}
INPUT_NORM = {LAYER + "input_layernorm.weight": "attention_norm.weight"}
ADAPTOR = {
    "imadpt.q": "adaptor.queries",
    "imadpt.k_proj.weight": "adaptor.key.weight",
    "imadpt.v_proj.weight": "adaptor.value.weight",
    "imadpt.o_proj.weight": "adaptor.out.weight",
    "img_fc.weight": "image_fuse.weight",
}
ADAPTOR_FC_BIAS = {"img_fc.bias": "image_fuse.bias"}
ADAPTOR_QKV_BIAS = {"imadpt.k_proj.bias": "adaptor.key.bias", "imadpt.v_proj.bias": "adaptor.value.bias"}
# Buffers some transformers versions saved: recomputed from the config, so present or not they are ignored.
DERIVED = frozenset({LAYER + "self_attn.rotary_emb.inv_freq"})
FORMATS = ("msd-llava", "msd-qwen2vl", "vispec")


def key_table(head_format: str, config: ReleasedHeadConfig) -> dict[str, str]:
    """Every key a checkpoint of this format and config holds, with the parameter it fills."""
    table = {**CORE, **(FC_BIAS if config.fc_bias else {}), **(QKV_BIAS if config.qkv_bias else {})}
    if head_format == "msd-qwen2vl":
        table |= INPUT_NORM
    if head_format == "vispec":
        table |= ADAPTOR | (ADAPTOR_FC_BIAS if config.fc_bias else {}) | (ADAPTOR_QKV_BIAS if config.qkv_bias else {})
    return table


def head_config(head_format: str, saved: dict, weights: dict[str, torch.Tensor]) -> ReleasedHeadConfig:
    """The module's settings from config.json (and, for ViSpec, the adaptor's query count from its weights)."""
    if head_format not in FORMATS:
        raise UserInputError(f"unknown head format {head_format!r}; choose one of: {', '.join(FORMATS)}.")
    if saved.get("num_hidden_layers", 1) != 1 or saved.get("hidden_act", "silu") != "silu":
        raise UserInputError("a released head must be one decoder layer with silu (num_hidden_layers 1, hidden_act silu).")
    scaling = saved.get("rope_scaling") or {}
    if scaling.get("type", scaling.get("rope_type", "mrope")) not in ("mrope", "default"):
        raise UserInputError(f"the head's rope_scaling {scaling} is not supported (plain RoPE only).")
    heads = saved["num_attention_heads"]
    queries = weights["imadpt.q"].shape[0] if head_format == "vispec" and "imadpt.q" in weights else 0
    return ReleasedHeadConfig(
        method="vispec" if head_format == "vispec" else "msd", hidden_size=saved["hidden_size"], num_heads=heads,
        num_kv_heads=saved.get("num_key_value_heads", heads), intermediate_size=saved["intermediate_size"],
        vocab_rows=saved["vocab_size"], rope_theta=float(saved.get("rope_theta", 10_000.0)),
        rms_norm_eps=float(saved.get("rms_norm_eps", 1e-6)),
        qkv_bias=head_format == "msd-qwen2vl" or bool(saved.get("qkv_bias", False)),
        fc_bias=bool(saved.get("bias", True)), input_norm=head_format == "msd-qwen2vl", image_queries=queries,
    )


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """model.safetensors, else pytorch_model.bin read as plain tensors (never running pickled code)."""
    if (folder / SAFETENSORS_FILE).is_file():
        from safetensors.torch import load_file

        return load_file(str(folder / SAFETENSORS_FILE))
    if (folder / PICKLE_FILE).is_file():
        try:
            return torch.load(folder / PICKLE_FILE, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise UserInputError(f"{folder / PICKLE_FILE} holds more than tensors; it was refused unread.") from None
    raise UserInputError(f"{folder} has neither {SAFETENSORS_FILE} nor {PICKLE_FILE}.")


def build_head(head_format: str, saved: dict, weights: dict[str, torch.Tensor], name: str) -> ReleasedHead:
    """The module with the weights put in by the key table; anything amiss is refused with the key's name."""
    config = head_config(head_format, saved, weights)
    table = key_table(head_format, config)
    present = set(weights) - DERIVED
    if missing := sorted(set(table) - present):
        raise UserInputError(f"{name} ({head_format}) lacks the key {missing[0]}" + _more(missing))
    if unexpected := sorted(present - set(table)):
        raise UserInputError(f"{name} ({head_format}) has an unexpected key {unexpected[0]}" + _more(unexpected))
    head = ReleasedHead(config)
    parameters = dict(head.named_parameters())
    for key, parameter_name in table.items():
        want, have = tuple(parameters[parameter_name].shape), tuple(weights[key].shape)
        if want != have:
            raise UserInputError(f"{name} ({head_format}): {key} has shape {list(have)}, its config calls for {list(want)}.")
    head.load_state_dict({parameter_name: weights[key] for key, parameter_name in table.items()}, strict=True)
    return head


def _more(keys: list[str]) -> str:
    return f" (and {len(keys) - 1} more)." if len(keys) > 1 else "."


def locate_head(source: str | Path) -> Path:
    """A local folder as it is; a hub id (one a preset names) downloaded through the hub's cache."""
    if hub.is_local(source):
        return Path(source)
    check_model_source(source)
    from huggingface_hub import snapshot_download

    reason = hub.hub_unreachable_reason()
    with hub.hub_errors(source, reason):
        folder = snapshot_download(str(source), allow_patterns=[CONFIG_FILE, SAFETENSORS_FILE, PICKLE_FILE],
                                   local_files_only=reason is not None)
    return Path(folder)


def load_released_head(source: str | Path, head_format: str, device: torch.device, dtype: torch.dtype) -> ReleasedHead:
    folder = locate_head(source)
    if not (folder / CONFIG_FILE).is_file():
        raise UserInputError(f"{source} has no {CONFIG_FILE}: is it a released draft head?")
    weights = read_weights(folder)
    needed = sum(tensor.numel() for tensor in weights.values()) * dtype.itemsize
    hub.check_fits(source, needed, hub.free_memory_bytes(device, None), "GPU" if device.type == "cuda" else "CPU")
    head = build_head(head_format, json.loads((folder / CONFIG_FILE).read_text()), weights, str(source))
    return head.to(device=device, dtype=dtype).eval()
