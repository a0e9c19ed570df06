"""The target reads a picture as LLaVA-NeXT tiles: undistorted shapes at every aspect ratio.

Squashed to one 192x192 square, a 3:1 picture's circles turn into tall ellipses three times narrower than they
are tall, and the target named the shapes of such pictures wrong far more often than a square's (issue 21,
sessions 23-31: describe 86% on square pictures of the training renderer, 45% at 3:1). More pixels did not help
(session 31: 288x288, shapes as wrong). LLaVA-NeXT (Liu et al., 2024) keeps the squashed view and adds the
picture cut into square tiles at its own proportions: a 3:1 picture becomes three 192x192 tiles, one per column
of the world's 3x3 grid, each looking like a square picture with shapes down its middle, which is what the
vision tower learnt on. Tokens a frame: 36 for the view, then each tile's 6x6 patches row by row with a learnt
newline after each row of patches, the padding of a picture that does not fill its tiles cut off.

`to_tiles` turns a trained LLaVA target into the same weights in LlavaNextForConditionalGeneration, with a zero
newline; the tune that follows (`target-tune`) teaches it to read the tiles.
"""

from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoProcessor,
    LlavaForConditionalGeneration,
    LlavaNextConfig,
    LlavaNextForConditionalGeneration,
    LlavaNextImageProcessorPil,
    LlavaNextProcessor,
)

# Tile grids offered, (rows, columns): a square picture is one tile, a wide one up to three across, a tall one up
# to three down; LLaVA-NeXT picks the grid that keeps the most of the picture's pixels, then the least padding.
TILE_GRIDS = ((1, 1), (1, 2), (2, 1), (1, 3), (3, 1))


def pinpoints(image_size: int) -> list[list[int]]:
    """The tile grids as LLaVA-NeXT's [height, width] resolutions."""
    return [[rows * image_size, columns * image_size] for rows, columns in TILE_GRIDS]


def tiles_processor(processor, image_size: int) -> LlavaNextProcessor:
    """A LLaVA processor's tokenizer, template and normalisation with LLaVA-NeXT's tiling (PIL, no torchvision).
    No centre crop: the world's 3x3 grid must stay whole."""
    old = processor.image_processor
    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size},
        image_grid_pinpoints=pinpoints(image_size), do_center_crop=False,
        image_mean=old.image_mean, image_std=old.image_std,
    )
    return LlavaNextProcessor(
        image_processor=image_processor, tokenizer=processor.tokenizer, chat_template=processor.chat_template,
        patch_size=processor.patch_size, vision_feature_select_strategy="default", image_token=processor.image_token,
        num_additional_image_tokens=processor.num_additional_image_tokens,
    )


def tiles_config(config, image_size: int) -> LlavaNextConfig:
    """A LLaVA config's parts in a LLaVA-NeXT config with the tile grids."""
    return LlavaNextConfig(
        vision_config=config.vision_config.to_dict(), text_config=config.text_config.to_dict(),
        image_token_index=config.image_token_id, projector_hidden_act=config.projector_hidden_act,
        vision_feature_select_strategy=config.vision_feature_select_strategy,
        vision_feature_layer=config.vision_feature_layer, multimodal_projector_bias=config.multimodal_projector_bias,
        image_grid_pinpoints=pinpoints(image_size), tie_word_embeddings=False,
    )


def reads_tiles(folder: Path) -> bool:
    return AutoConfig.from_pretrained(str(folder)).model_type == "llava_next"


def to_tiles(folder: Path, image_size: int) -> None:
    """Rewrite a LLaVA model folder as LLaVA-NeXT: every weight kept as stored, the newline (the one new weight) zero."""
    llava = LlavaForConditionalGeneration.from_pretrained(str(folder), dtype="auto")
    processor = AutoProcessor.from_pretrained(str(folder))
    model = LlavaNextForConditionalGeneration(tiles_config(llava.config, image_size)).to(llava.dtype)
    missing, unexpected = model.load_state_dict(llava.state_dict(), strict=False)
    if unexpected or set(missing) != {"model.image_newline"}:
        raise RuntimeError(f"LLaVA -> LLaVA-NeXT: unexpected weights {unexpected}, missing {missing}")
    with torch.no_grad():
        model.model.image_newline.zero_()
    for part in (model.config, model.config.text_config, model.config.vision_config):
        part.dtype = llava.dtype
    model.save_pretrained(str(folder))
    tiles_processor(processor, image_size).save_pretrained(str(folder))
