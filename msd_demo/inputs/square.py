"""Pad a wide or tall picture to a square before the processor resizes it, so shapes keep their proportions.

A processor that resizes to a fixed square squashes a 3:1 picture threefold across: circles become thin
ellipses and the 3x3 grid's cells turn tall. Padded to a square with the picture's own background colour
(the picture centred), every shape keeps its shape and its place relative to the picture.

The switch lives with the model: the image processor's `msd_pad_to_square` entry in the model folder's
processor_config.json, read when the processor is loaded. Off unless present (the shipped target learnt
squashed pictures); a build that trains on padded pictures writes it with `enable_pad_to_square`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

PAD_SWITCH = "msd_pad_to_square"


def pads_to_square(processor) -> bool:
    """Whether this model's processor asks for square-padded pictures (False for a tokenizer, or hub models)."""
    return image_processor_pads(getattr(processor, "image_processor", None))


def image_processor_pads(image_processor) -> bool:
    """Whether this image processor carries the switch (the build's stages hold the image processor alone)."""
    return bool(getattr(image_processor, PAD_SWITCH, False))


def enable_pad_to_square(processor) -> None:
    """Record the switch in the processor, so `save_pretrained` writes it beside the model."""
    setattr(processor.image_processor, PAD_SWITCH, True)


def border_colour(image: Image.Image) -> tuple[int, int, int]:
    """The median colour of the picture's outermost pixels: its background, even with noise or a shape at an edge."""
    pixels = np.asarray(image.convert("RGB"))
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return tuple(int(c) for c in np.median(border, axis=0))  # type: ignore[return-value]


def pad_to_square(image: Image.Image, fill: tuple[int, int, int] | None = None) -> Image.Image:
    """The picture centred on a square of its longer side, filled with `fill` (default: its border colour)."""
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    canvas = Image.new("RGB", (side, side), fill if fill is not None else border_colour(image))
    canvas.paste(image.convert("RGB"), ((side - width) // 2, (side - height) // 2))
    return canvas
