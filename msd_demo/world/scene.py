"""The shapes world's vocabulary and still scenes.

A scene is a few flat shapes, each in its own cell of a 3x3 grid, on a plain background. The vocabulary
is deliberately small and closed so a tiny vision-language model can learn it perfectly, and every
visual fact has exactly one name in the answers.

Splits: "train" and "heldout" draw image resolutions and background shades from disjoint sets, so a
model evaluated on "heldout" has never seen those exact pixels' sizes or background values.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from itertools import product

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (40, 70, 220),
    "yellow": (240, 210, 30),
    "purple": (140, 50, 180),
    "orange": (245, 130, 20),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}

# Fraction of the cell's shorter side that the shape's bounding box spans. "small" stays above a third of
# the cell so it survives the processor squashing any image to 64x64.
SIZES: dict[str, float] = {"small": 0.45, "medium": 0.64, "large": 0.85}

# Named cells in reading order: index = cell_index(row, col). Each name is unique and unambiguous ("top middle",
# not "top", which could mean the whole top row).
POSITIONS: tuple[str, ...] = (
    "top left", "top middle", "top right",
    "middle left", "center", "middle right",
    "bottom left", "bottom middle", "bottom right",
)

# Background families: the name said in answers and a base colour. Shades jitter the base (below).
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "light grey": (215, 215, 215),
    "dark grey": (55, 55, 55),
    "pale blue": (200, 220, 245),
    "pale green": (205, 235, 205),
    "pale pink": (245, 210, 220),
    "cream": (245, 235, 200),
}

# More families for the varied pictures (variety.py): white through greys to colours. Their shades jitter
# by the varied offsets there.
EXTRA_BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "mid grey": (145, 145, 145),
    "pale yellow": (250, 240, 150),
    "lavender": (230, 195, 245),
    "navy": (30, 40, 95),
}
EXTRA_SHADE_RANGE = 15  # offsets of an extra family's shades stay within +-15, as the first families' do

SPLITS: tuple[str, ...] = ("train", "heldout")

# Brightness offsets added to a family's base colour. Disjoint per split: heldout shades are never seen
# in training, yet stay inside the family's range so the name is still right.
_SHADE_OFFSETS: dict[str, tuple[int, ...]] = {"train": (-15, -5, 5, 15), "heldout": (-10, 0, 10)}

# Image side lengths in pixels, disjoint per split and all even (video encoders need even sizes).
_SIDES: dict[str, tuple[int, ...]] = {
    "train": (96, 128, 160, 192, 224, 256, 288, 320),
    "heldout": (112, 144, 176, 208, 240, 272, 304),
}
_ASPECT_RANGE = (0.6, 1.7)  # width / height

# Minimum RGB distance between a shape's colour and every shade of its background family.
_MIN_CONTRAST = 100.0


def cell_index(row: int, col: int) -> int:
    """The cell's index in reading order, which is also where CLIP puts it when it flattens its 3x3 patch grid."""
    return row * 3 + col


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    size: str
    row: int
    col: int

    @property
    def position(self) -> str:
        return POSITIONS[self.cell]

    @property
    def cell(self) -> int:
        return cell_index(self.row, self.col)

    @property
    def name(self) -> str:
        """'red circle': unique within a scene, so it identifies the shape in questions."""
        return f"{self.colour} {self.kind}"


@dataclass(frozen=True)
class Scene:
    objects: tuple[Shape, ...]  # always in reading order (row by row, left to right)
    background: tuple[int, int, int]
    background_name: str
    width: int
    height: int


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    return split


def shade(base: tuple[int, int, int], offset: int) -> tuple[int, int, int]:
    return tuple(min(255, max(0, channel + offset)) for channel in base)  # type: ignore[return-value]


def background_shades(split: str) -> list[tuple[str, tuple[int, int, int]]]:
    """Every (family name, rgb) background of a split."""
    offsets = _SHADE_OFFSETS[check_split(split)]
    return [(name, shade(base, offset)) for name, base in BACKGROUNDS.items() for offset in offsets]


def resolutions(split: str) -> list[tuple[int, int]]:
    """Every (width, height) of a split whose aspect ratio is within range."""
    sides = _SIDES[check_split(split)]
    low, high = _ASPECT_RANGE
    return [(w, h) for w in sides for h in sides if low <= w / h <= high]


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def contrasting_colours(background_name: str) -> tuple[str, ...]:
    """Colours that stand out against every shade of the family, in either split.

    Decided per family rather than per shade, so whether e.g. white can appear depends only on the
    named background, which the model can see and learn.
    """
    if background_name in EXTRA_BACKGROUNDS:
        base, offsets = EXTRA_BACKGROUNDS[background_name], range(-EXTRA_SHADE_RANGE, EXTRA_SHADE_RANGE + 1)
    else:
        base, offsets = BACKGROUNDS[background_name], [o for split in _SHADE_OFFSETS.values() for o in split]
    shades = [shade(base, o) for o in offsets]
    return tuple(
        colour for colour, rgb in COLOURS.items()
        if min(_distance(rgb, s) for s in shades) >= _MIN_CONTRAST
    )


def sample_shapes(
    rng: random.Random, background_name: str, cells: list[int], taken: Collection[str] = ()
) -> list[Shape]:
    """One shape per cell, with (colour, kind) pairs distinct from each other and from `taken` names.

    Distinct pairs make "the red circle" a definite description, so every question has one answer.
    """
    pairs = [
        (colour, kind) for colour, kind in product(contrasting_colours(background_name), SHAPES)
        if f"{colour} {kind}" not in taken
    ]
    chosen = rng.sample(pairs, len(cells))
    return [
        Shape(kind, colour, rng.choice(list(SIZES)), cell // 3, cell % 3)
        for (colour, kind), cell in zip(chosen, cells)
    ]


def in_reading_order(shapes: list[Shape] | tuple[Shape, ...]) -> tuple[Shape, ...]:
    return tuple(sorted(shapes, key=lambda s: (s.row, s.col)))


def sample_scene(
    rng: random.Random, split: str = "train", min_objects: int = 1, max_objects: int = 6
) -> Scene:
    """A random scene: min..max shapes in distinct cells on a contrasting background of the split."""
    if not 1 <= min_objects <= max_objects <= 9:
        raise ValueError(f"need 1 <= min_objects <= max_objects <= 9, got {min_objects}, {max_objects}")
    width, height = rng.choice(resolutions(split))
    background_name, background = rng.choice(background_shades(split))
    cells = rng.sample(range(9), rng.randint(min_objects, max_objects))
    objects = in_reading_order(sample_shapes(rng, background_name, cells))
    return Scene(objects, background, background_name, width, height)
