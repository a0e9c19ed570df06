"""Stock transformers architectures at tiny sizes: tokenizer, processors and model configs.

Used to build the shipped models (then trained) and, with random weights, the tests' models. Everything is
saved with save_pretrained so the runtime loads it with the Auto classes like any hub model.
"""

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaProcessor,
    PreTrainedTokenizerFast,
    Qwen2VLConfig,
)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from msd_demo.inputs.square import enable_pad_to_square
from msd_demo.loading.processors import ImageOnlyQwen2VLProcessor

IMAGE_TOKEN = "<image>"
QWEN_VISION_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>", "<|user|>", "<|assistant|>", IMAGE_TOKEN, *QWEN_VISION_TOKENS]

# Content may be a string (text-only models) or a list of parts (multimodal). Each turn ends with </s>,
# which is also EOS: a trained model stops when its answer is complete.
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}<|user|>{% else %}<|assistant|>{% endif %}"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for part in m['content'] %}"
    "{% if part['type'] == 'image' %}{{ image_placeholder | default('<image>') }}{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}</s>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
QWEN_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


def build_tokenizer(corpus: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the corpus, with the chat template above."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def llava_processor(tokenizer, image_size: int, patch_size: int, pad_to_square: bool = False) -> LlavaProcessor:
    """Pictures are resized without centre-cropping (the 3x3 grid of the world must stay whole), padded to a
    square first when asked (the switch is saved with the processor, so the runtime pads as the build trained)."""
    image_processor = CLIPImageProcessorPil(size={"height": image_size, "width": image_size}, do_center_crop=False)
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE, patch_size=patch_size,
        vision_feature_select_strategy="default", image_token=IMAGE_TOKEN, num_additional_image_tokens=1,
    )
    if pad_to_square:
        enable_pad_to_square(processor)
    return processor


def llama_config(tokenizer, hidden: int, layers: int, heads: int, kv_heads: int, vocab_padding: int = 0) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=len(tokenizer) + vocab_padding, hidden_size=hidden, intermediate_size=hidden * 3,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        max_position_embeddings=2048, tie_word_embeddings=False, **_special_ids(tokenizer),
    )


def llava_config(tokenizer, text: LlamaConfig, vision_hidden: int, vision_layers: int, image_size: int, patch_size: int) -> LlavaConfig:
    vision = CLIPVisionConfig(
        hidden_size=vision_hidden, intermediate_size=vision_hidden * 2, num_hidden_layers=vision_layers,
        num_attention_heads=max(1, vision_hidden // 32), image_size=image_size, patch_size=patch_size,
    )
    return LlavaConfig(
        text_config=text, vision_config=vision, image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default", vision_feature_layer=-1, projector_hidden_act="gelu",
        tie_word_embeddings=False,
    )


def qwen2vl_processor(tokenizer, min_pixels: int, max_pixels: int) -> ImageOnlyQwen2VLProcessor:
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=min_pixels, max_pixels=max_pixels, patch_size=8, merge_size=2, temporal_patch_size=2
    )
    template = CHAT_TEMPLATE.replace("image_placeholder | default('<image>')", f"'{QWEN_IMAGE}'")
    processor = ImageOnlyQwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer, chat_template=template)
    processor.image_token = "<|image_pad|>"
    processor.image_token_id = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    return processor


def qwen2vl_config(tokenizer, hidden: int, layers: int, heads: int, vision_hidden: int, vocab_padding: int = 0) -> Qwen2VLConfig:
    head_dim = hidden // heads
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in QWEN_VISION_TOKENS}
    text = dict(
        vocab_size=len(tokenizer) + vocab_padding, hidden_size=hidden, intermediate_size=hidden * 3,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=2048, tie_word_embeddings=False, **_special_ids(tokenizer),
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": _mrope_section(head_dim)},
    )
    vision = dict(
        depth=2, embed_dim=vision_hidden, hidden_size=hidden, num_heads=max(1, vision_hidden // 16),
        patch_size=8, spatial_merge_size=2, temporal_patch_size=2, in_channels=3, mlp_ratio=2,
    )
    return Qwen2VLConfig(
        text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def _mrope_section(head_dim: int) -> list[int]:
    # Temporal, height, width share the rotary half-dimension, as in Qwen2-VL (16, 24, 24 of 64).
    half = head_dim // 2
    temporal = half // 4
    height = (half - temporal) // 2
    return [temporal, height, half - temporal - height]


def _special_ids(tokenizer) -> dict:
    return dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
