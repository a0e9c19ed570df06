"""Tiny random-weight models of the architectures the engine must handle, built from configs (no network).

LLaVA (CLIP vision + Llama text) with a target whose vocabulary is padded past the tokenizer's, as between
Qwen2.5-VL 7B and 3B; Qwen2-VL (M-RoPE positions); a Llama text-only draft. Drafts share the tokenizer.
"""

import dataclasses
import shutil
from pathlib import Path

import torch
from PIL import Image
from transformers import LlamaForCausalLM, LlavaForConditionalGeneration, Qwen2VLForConditionalGeneration

from msd_demo.engine.drafters import DraftHead, save_head
from msd_demo.loading.models import LoadedModel
from msd_demo.training import architectures as arch
from msd_demo.training.heads import head_config_for
from msd_demo.training.tiles import to_tiles

CORPUS = [
    "There are three shapes on a light grey background. A large red circle is at the top left.",
    "A small blue star is in the center. A medium green triangle is at the bottom right.",
    "The yellow square moves from the left to the center. How many shapes are there?",
    "Describe the picture in detail. What colour is the star? Where is the purple circle?",
] * 4
IMAGE_SIZE, PATCH = 32, 8
TARGET_VOCAB_PADDING = 16  # target logits wider than the draft's: drafts use the shared ids only


def seeded(seed: int):
    torch.manual_seed(seed)


def _no_padding_logits(model, tokenizer):
    # A trained model never emits its padded ids; a random one would, so give them a neutral zero logit.
    model.get_output_embeddings().weight.data[len(tokenizer) :] = 0.0
    return model


def _peaked(config):
    # Larger random weights give peaked distributions: greedy choices far from float32 ties.
    config.initializer_range = 0.25
    return config


def build_tokenizer():
    return arch.build_tokenizer(CORPUS, vocab_size=300)


def save_llava_models(folder: Path, tokenizer) -> Path:
    """target/, draft-vlm/, draft-text/ laid out as models/ is, loadable with --models-dir."""
    processor = arch.llava_processor(tokenizer, IMAGE_SIZE, PATCH)
    shapes = {"target": (64, 2, TARGET_VOCAB_PADDING, 1), "draft-vlm": (32, 1, 0, 2)}
    for name, (hidden, layers, padding, seed) in shapes.items():
        seeded(seed)
        text = arch.llama_config(tokenizer, hidden, layers, heads=4, kv_heads=2, vocab_padding=padding)
        config = _peaked(arch.llava_config(tokenizer, _peaked(text), 32, 1, IMAGE_SIZE, PATCH))
        _no_padding_logits(LlavaForConditionalGeneration(config), tokenizer).save_pretrained(folder / name)
        processor.save_pretrained(folder / name)
    seeded(3)
    LlamaForCausalLM(_peaked(arch.llama_config(tokenizer, 32, 1, heads=4, kv_heads=2))).save_pretrained(folder / "draft-text")
    tokenizer.save_pretrained(folder / "draft-text")
    target = LlavaForConditionalGeneration.from_pretrained(folder / "target")
    for seed, name in enumerate(("msd", "msd-no-decoupling"), start=7):
        decoupled = name == "msd"
        save_head(random_head(target, decoupled=decoupled, seed=seed, visual_feature=decoupled), folder / name)
    save_head(random_head(target, seed=9, visual_queries=4, global_feature=True), folder / "vispec")
    save_head(random_head(target, seed=10, visual_queries=6, tokens_per_pass=2), folder / "flash")
    return folder


def tiles_copy(models: Path, folder: Path) -> Path:
    """A copy of save_llava_models' folder whose target reads LLaVA-NeXT tiles (training/tiles.py)."""
    shutil.copytree(models, folder, dirs_exist_ok=True)
    to_tiles(folder / "target", IMAGE_SIZE)
    return folder


def random_head(target, decoupled: bool = True, seed: int = 7, **switches) -> DraftHead:
    """A random draft head sized for target (one decoder layer as wide as its features); switches: the
    HeadConfig fields of msd's, ViSpec's and FLASH's heads (visual_feature, visual_queries, global_feature,
    tokens_per_pass)."""
    seeded(seed)
    return DraftHead(dataclasses.replace(head_config_for(target, 64), decoupled=decoupled, **switches)).eval()


def qwen2vl_models(tokenizer) -> dict[str, LoadedModel]:
    """In memory: Qwen2-VL's processor cannot be reloaded here without torchvision's video processor."""
    processor = arch.qwen2vl_processor(tokenizer, min_pixels=16 * 16, max_pixels=32 * 32)
    models = {}
    for name, (hidden, layers, padding, seed) in {"target": (64, 2, TARGET_VOCAB_PADDING, 4), "draft": (32, 1, 0, 5)}.items():
        seeded(seed)
        config = arch.qwen2vl_config(tokenizer, hidden, layers, heads=4, vision_hidden=32, vocab_padding=padding)
        config.text_config.initializer_range = config.initializer_range = 0.25
        model = _no_padding_logits(Qwen2VLForConditionalGeneration(config).eval(), tokenizer)
        models[name] = LoadedModel(f"qwen2vl-{name}", model, processor)
    seeded(6)
    text = LlamaForCausalLM(_peaked(arch.llama_config(tokenizer, 32, 1, heads=4, kv_heads=2))).eval()
    models["text"] = LoadedModel("llama-text", text, tokenizer)
    return models


def sample_images() -> list[Image.Image]:
    """A few small images of different sizes and aspect ratios."""
    images = []
    for index, (width, height) in enumerate([(40, 40), (64, 30), (25, 50)]):
        image = Image.new("RGB", (width, height), (30 * index, 200 - 40 * index, 90))
        image.paste((250, 250, 0), (width // 4, height // 4, width // 2, height // 2))
        images.append(image)
    return images
