"""A wide or tall picture read twice: squashed whole, then in thirds, each third close to a square.

The tiny target resizes every picture to one 192x192 square. A 3:1 picture is then squashed threefold across,
and its shapes were named wrong far more often than a square picture's (issue 21: describe right 86% on square
pictures, 45-54% at 3:1 and 1:3). Cut into thirds along its long side, each third of a 3:1 picture is a square
that holds one column of the world's 3x3 grid undistorted; a frozen tower's tokens held 89-92% of such tiles'
shapes against 75-80% squashed (session 33). The thirds go in as three more images after the whole picture,
each after the word that names it (" left", " middle", " right", or " top", " middle", " bottom"), so the
language model knows which column or row it reads. Videos keep one squashed image a frame: six frames of four
images each would be 864 image tokens, and the tuned target lost motion when its frames were tiled (session 32).

The switch lives with the model, as the pad switch does (square.py): the image processor's
`msd_picture_thirds` entry, written by the build's target-tune when the plan asks for it. Off unless present.
"""

from __future__ import annotations

from PIL import Image

THIRDS_SWITCH = "msd_picture_thirds"
# From 2:1 on, a third is at most 1.5 times off a square either way (a 2:1 picture's thirds are 2:3, a 4:1
# picture's 4:3); nearer a square, the squashed picture alone is closer to what the tower learnt.
THIRDS_FROM_ASPECT = 2.0
WIDE_NAMES = (" left", " middle", " right")
TALL_NAMES = (" top", " middle", " bottom")


def reads_thirds(processor) -> bool:
    """Whether this model's processor asks for pictures in thirds (False for a tokenizer, or hub models)."""
    return bool(getattr(getattr(processor, "image_processor", None), THIRDS_SWITCH, False))


def enable_thirds(processor) -> None:
    """Record the switch in the processor, so `save_pretrained` writes it beside the model."""
    setattr(processor.image_processor, THIRDS_SWITCH, True)


def picture_thirds(image: Image.Image) -> list[tuple[str, Image.Image]]:
    """(name, third) along the picture's long side, left to right or top to bottom; [] for a picture nearer a
    square than THIRDS_FROM_ASPECT."""
    width, height = image.size
    if width >= THIRDS_FROM_ASPECT * height:
        edges = [round(i * width / 3) for i in range(4)]
        return [(name, image.crop((edges[i], 0, edges[i + 1], height))) for i, name in enumerate(WIDE_NAMES)]
    if height >= THIRDS_FROM_ASPECT * width:
        edges = [round(i * height / 3) for i in range(4)]
        return [(name, image.crop((0, edges[i], width, edges[i + 1]))) for i, name in enumerate(TALL_NAMES)]
    return []
