"""Tiny random-weight stand-ins for the hub presets' models: the same config classes, saved as the hub repos are.

llava-1.5: LLaVA (Llama + CLIP), vocabulary padded past the tokenizer's (32,064 vs 32,000), a Llama text-only
draft (vicuna-68m). llava-interleave: LLaVA (Qwen2 + SigLIP, every patch an image token), a smaller model of
the same kind as draft. qwen2.5-vl: Qwen2.5-VL (M-RoPE, windowed vision attention), target vocabulary padded
(152,064 vs 151,936), a Qwen2.5-VL draft and a Qwen2 text-only draft. Loaded through the presets' code path.
"""

import copy
import json
from dataclasses import replace
from pathlib import Path

from transformers import (
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2VLForConditionalGeneration,
    SiglipVisionConfig,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

from msd_demo.presets.catalog import PRESETS, Preset
from msd_demo.training import architectures as arch
from tests.tiny_models import IMAGE_SIZE, PATCH, TARGET_VOCAB_PADDING, _no_padding_logits, _peaked, seeded

QWEN_TEMPLATE = arch.CHAT_TEMPLATE.replace("image_placeholder | default('<image>')", f"'{arch.QWEN_IMAGE}'")


def llava_15(llava_dir: Path, name: str = "llava-1.5") -> Preset:
    """The tests' tiny LLaVA folder already is LLaVA-1.5's shape (7B or 13B): its target and its text-only Llama draft.
    Released heads: add tests/released_stand_ins.with_released_heads."""
    drafts = {"text-only": str(llava_dir / "draft-text")} if "text-only" in PRESETS[name].draft_models else {}
    return replace(PRESETS[name], target=str(llava_dir / "target"), draft_models=drafts)


def llava_interleave(folder: Path, tokenizer) -> Preset:
    image_processor = SiglipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=arch.CHAT_TEMPLATE, patch_size=PATCH,
        vision_feature_select_strategy="full", image_token=arch.IMAGE_TOKEN, num_additional_image_tokens=0,
    )
    for name, (hidden, layers, seed) in {"target": (64, 2, 11), "draft": (32, 1, 12)}.items():
        seeded(seed)
        LlavaForConditionalGeneration(_interleave_config(tokenizer, hidden, layers)).save_pretrained(folder / name)
        processor.save_pretrained(folder / name)
    return replace(PRESETS["llava-interleave"], target=str(folder / "target"), draft_models={"model": str(folder / "draft")})


def _interleave_config(tokenizer, hidden: int, layers: int) -> LlavaConfig:
    text = _peaked(Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 3, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=False,
        **arch._special_ids(tokenizer),
    ))
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                image_size=IMAGE_SIZE, patch_size=PATCH)
    return _peaked(LlavaConfig(
        text_config=text, vision_config=vision, image_token_id=tokenizer.convert_tokens_to_ids(arch.IMAGE_TOKEN),
        vision_feature_select_strategy="full", vision_feature_layer=-1, tie_word_embeddings=False,
    ))


def qwen25vl(folder: Path, tokenizer) -> Preset:
    # Saved allowing more than the preset's limit (as Qwen's repos do); the preset's processor_options cap it.
    image_processor = Qwen2VLImageProcessorPil(min_pixels=16 * 16, max_pixels=64 * 64, patch_size=PATCH, merge_size=2,
                                               temporal_patch_size=2)
    for name, (hidden, layers, padding, seed) in {"target": (64, 2, TARGET_VOCAB_PADDING, 13), "draft": (32, 1, 0, 14)}.items():
        seeded(seed)
        model = Qwen2_5_VLForConditionalGeneration(_qwen25vl_config(tokenizer, hidden, layers, padding))
        _no_padding_logits(model, tokenizer).save_pretrained(folder / name)
        _save_qwen_processor(folder / name, image_processor, tokenizer)
    seeded(15)
    text = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=96, num_hidden_layers=1,
                       num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True, **arch._special_ids(tokenizer))
    Qwen2ForCausalLM(_peaked(text)).save_pretrained(folder / "text")
    tokenizer.save_pretrained(folder / "text")
    drafts = {"model": str(folder / "draft"), "text-only": str(folder / "text")}
    # The preset's image size limit in the stand-in's 8-pixel patches: at most 3x3 merged patches an image,
    # which spans two of the vision tower's 2x2 attention windows each way (window_size above).
    limit = {"size": {"longest_edge": 48 * 48, "shortest_edge": 16 * 16}}
    return replace(PRESETS["qwen2.5-vl"], target=str(folder / "target"), draft_models=drafts, processor_options=limit)


def _qwen25vl_config(tokenizer, hidden: int, layers: int, padding: int) -> Qwen2_5_VLConfig:
    config = arch.qwen2vl_config(tokenizer, hidden, layers, heads=4, vision_hidden=32, vocab_padding=padding)
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden, patch_size=PATCH,
                  spatial_merge_size=2, temporal_patch_size=2, window_size=2 * PATCH * 2, fullatt_block_indexes=[1])
    ids = {key: getattr(config, key) for key in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")}
    qwen = Qwen2_5_VLConfig(text_config=config.text_config.to_dict(), vision_config=vision, tie_word_embeddings=False, **ids)
    qwen.text_config.initializer_range = qwen.initializer_range = 0.25
    return qwen


def _save_qwen_processor(folder: Path, image_processor, tokenizer, processor_class="Qwen2_5_VLProcessor") -> None:
    """As the Qwen2(.5)-VL repos are: preprocessor_config.json naming the processor, tokenizer, chat template."""
    image_processor.save_pretrained(folder)
    with_template = copy.deepcopy(tokenizer)
    with_template.chat_template = QWEN_TEMPLATE
    with_template.save_pretrained(folder)
    config_file = folder / "preprocessor_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "processor_class": processor_class}))
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": QWEN_TEMPLATE}))


def qwen2vl(folder: Path, tokenizer) -> Preset:
    """Qwen2-VL 7B's stand-in (M-RoPE, vocabulary padded past the tokenizer's) and a smaller Qwen2-VL draft."""
    image_processor = Qwen2VLImageProcessorPil(min_pixels=16 * 16, max_pixels=64 * 64, patch_size=PATCH, merge_size=2,
                                               temporal_patch_size=2)
    for name, (hidden, layers, padding, seed) in {"target": (64, 2, TARGET_VOCAB_PADDING, 16), "draft": (32, 1, 0, 17)}.items():
        seeded(seed)
        config = arch.qwen2vl_config(tokenizer, hidden, layers, heads=4, vision_hidden=32, vocab_padding=padding)
        config.text_config.initializer_range = config.initializer_range = 0.25
        _no_padding_logits(Qwen2VLForConditionalGeneration(config), tokenizer).save_pretrained(folder / name)
        _save_qwen_processor(folder / name, image_processor, tokenizer, "Qwen2VLProcessor")
    limit = {"size": {"longest_edge": 48 * 48, "shortest_edge": 16 * 16}}
    return replace(PRESETS["qwen2-vl"], target=str(folder / "target"), draft_models={"model": str(folder / "draft")},
                   processor_options=limit)
