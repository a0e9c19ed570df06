"""The CPU attention that shares grouped KV heads in the kernel (shared_kv_attention.py): the same logits as
transformers' SDPA for a verify's chain and for a tree, and only where it applies."""

import pytest
import torch
from transformers import AutoModelForImageTextToText, LlamaConfig, LlamaForCausalLM

from msd_demo.engine.model_cache import CachedModel
from msd_demo.engine.tree import tree_attention
from msd_demo.inputs.media import Media
from msd_demo.loading.models import load_model
from msd_demo.loading.shared_kv_attention import SHARED_KV_SDPA, share_kv_heads_on_cpu
from msd_demo.presets.lineup import load_lineup
from tests.tiny_models import sample_images

QUESTION = "Describe the picture in detail."


def verify_logits(target, switched: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A chain of 5 tokens and a tree of 6 nodes after an image prompt: their logits."""
    target.model.set_attn_implementation({"text_config": SHARED_KV_SDPA if switched else "sdpa"})
    inputs = target.prompt(QUESTION, Media((sample_images()[0],), "image", "p.png")).model_inputs
    chain, tree = CachedModel(target.model), CachedModel(target.model)
    with torch.inference_mode():
        chain.prefill(inputs)
        tree.prefill(inputs)
        chain_logits = chain.forward([4, 5, 6, 7, 8])
        depths, attend = tree_attention([-1, -1, 0, 1, 2, 2], tree.device)
        tree_logits = tree.forward_tree(torch.tensor([4, 5, 6, 7, 8, 9, 10]), tree.length + depths, attend)
    return chain_logits, tree_logits


def test_a_verify_gives_the_stock_attentions_logits(llava_dir):
    target = load_model(str(llava_dir / "target"), multimodal=True)
    assert target.model.config.text_config.num_key_value_heads < target.model.config.text_config.num_attention_heads
    stock = verify_logits(target, switched=False)
    shared = verify_logits(target, switched=True)
    for want, got in zip(stock, shared):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_only_a_cpu_sdpa_model_with_grouped_kv_heads_is_switched(llava_dir):
    model = AutoModelForImageTextToText.from_pretrained(llava_dir / "target")
    assert share_kv_heads_on_cpu(model)
    assert model.config.text_config._attn_implementation == SHARED_KV_SDPA
    assert model.config.vision_config._attn_implementation == "sdpa"  # the tower has no grouped heads to share
    eager = AutoModelForImageTextToText.from_pretrained(llava_dir / "target", attn_implementation="eager")
    assert not share_kv_heads_on_cpu(eager) and eager.config.text_config._attn_implementation == "eager"
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                         num_key_value_heads=4)
    assert not share_kv_heads_on_cpu(LlamaForCausalLM(config))  # no grouped heads: nothing to share


@pytest.mark.slow
def test_the_shipped_target_attends_with_shared_kv_heads():
    assert load_lineup("tiny").target.model.config.text_config._attn_implementation == SHARED_KV_SDPA
