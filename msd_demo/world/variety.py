"""Varied pictures of the same world: how other people's drawings of these shapes differ from ours.

A varied scene is a `Scene` whose background may be any family (white through greys to colours) and whose
aspect ratio runs from 4:1 to 1:4. A `Style` says how it is drawn: star and triangle proportions, each
shape's size inside its named size band and its place jittered inside its cell, outlined or filled,
anti-aliased or not, noise and JPEG artefacts. `layout` turns a scene and a style into exact geometry that
both renderers (render_varied.py for training, render_heldout.py held out) draw: every shape's box stays
inside its cell and its size band, so the world's answers stay exact.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from msd_demo.world.render import Placed
from msd_demo.world.scene import (
    BACKGROUNDS,
    EXTRA_BACKGROUNDS,
    Scene,
    check_split,
    in_reading_order,
    sample_shapes,
    shade,
)

# A shape's box side as a share of its cell's shorter side, per size word. The gaps between the bands keep
# the size word unambiguous.
SIZE_BANDS: dict[str, tuple[float, float]] = {"small": (0.32, 0.46), "medium": (0.54, 0.68), "large": (0.78, 0.94)}

# Shade offsets per split, disjoint, and disjoint from the first world's training offsets (-15, -5, 5, 15)
# in the held-out split, so no held-out shade was ever trained on.
VARIED_SHADE_OFFSETS: dict[str, tuple[int, ...]] = {
    "train": (-15, -12, -8, -6, -5, -4, -2, 2, 4, 5, 6, 8, 12, 15),
    "heldout": (-13, -11, -10, -9, -7, -3, -1, 0, 1, 3, 7, 9, 10, 11, 13),
}
# Side lengths per split, disjoint (multiples of 32 against 16 more than one); the shortest keeps a cell
# at least 24 pixels high.
VARIED_SIDES: dict[str, tuple[int, ...]] = {"train": tuple(range(96, 513, 32)), "heldout": tuple(range(80, 497, 32))}
MAX_ASPECT = 4.0  # width / height within 1/4 .. 4
# An outline at least this many pixels wide: a thinner one, smoothed, has no pixel of its named colour left.
MIN_STROKE = 3


def varied_shade(base: tuple[int, int, int], offset: int) -> tuple[int, int, int]:
    """A family's shade. A family near white only darkens (by the offset's size): brightening would clip at
    255, where shades of both splits would meet. The splits' offsets differ in size too, so this keeps them apart."""
    return shade(base, -abs(offset) if max(base) + max(VARIED_SHADE_OFFSETS["train"]) > 255 else offset)


def varied_backgrounds(split: str) -> list[tuple[str, tuple[int, int, int]]]:
    """Every (family, rgb) background of the varied pictures in a split."""
    offsets = VARIED_SHADE_OFFSETS[check_split(split)]
    families = {**BACKGROUNDS, **EXTRA_BACKGROUNDS}
    return [(name, varied_shade(base, offset)) for name, base in families.items() for offset in offsets]


def varied_resolutions(split: str, aspect: float | None = None, widest: float = MAX_ASPECT) -> list[tuple[int, int]]:
    """(width, height) pairs of a split: aspect ratios 1/widest to widest (at most 1/4 to 4), or exactly `aspect`."""
    sides = VARIED_SIDES[check_split(split)]
    widest = min(widest, MAX_ASPECT)
    pairs = [(w, h) for w in sides for h in sides if 1 / widest <= w / h <= widest]
    if aspect is not None:
        pairs = [(w, h) for w, h in pairs if abs(w / h - aspect) < 1e-9]
        if not pairs:
            raise ValueError(f"no {split} resolution has aspect ratio {aspect:g}; allowed: 1/4 to 4 in simple ratios")
    return pairs


# Wide pictures (2:1 to 4:1) and tall ones (1:2 to 1:4) are a sixth of the resolutions each but a third of the
# robustness cells each, and a shape squashed into a tall video frame was the commonest miss (session 40).
ASPECT_FAMILIES: dict[str, Callable[[float], bool]] = {
    "wide": lambda ratio: ratio >= 2,
    "tall": lambda ratio: ratio <= 0.5,
    "near square": lambda ratio: 0.5 < ratio < 2,
}


def sample_resolution(rng: random.Random, split: str, aspect: float | None = None, widest: float = MAX_ASPECT) -> tuple[int, int]:
    """A (width, height) of the split: exactly `aspect` when given; else a family of ASPECT_FAMILIES (of those
    the curriculum's `widest` allows), each equally likely, then a resolution within it."""
    pairs = varied_resolutions(split, aspect, widest)
    if aspect is not None:
        return rng.choice(pairs)  # one draw, as before families: the eval's cells and the shipped examples keep their pictures
    families = [[(w, h) for w, h in pairs if belongs(w / h)] for belongs in ASPECT_FAMILIES.values()]
    return rng.choice(rng.choice([family for family in families if family]))


def sample_varied_scene(
    rng: random.Random, split: str = "train", min_objects: int = 1, max_objects: int = 6, aspect: float | None = None,
    widest: float = MAX_ASPECT,
) -> Scene:
    """A scene on any background family and aspect ratio of the split (a fixed `aspect` when given, else one
    between 1/widest and widest, drawn by sample_resolution); min_objects 0 allows an empty picture."""
    if not 0 <= min_objects <= max_objects <= 9:
        raise ValueError(f"need 0 <= min_objects <= max_objects <= 9, got {min_objects}, {max_objects}")
    width, height = sample_resolution(rng, split, aspect, widest)
    background_name, background = rng.choice(varied_backgrounds(split))
    cells = rng.sample(range(9), rng.randint(min_objects, max_objects))
    objects = in_reading_order(sample_shapes(rng, background_name, cells))
    return Scene(objects, background, background_name, width, height)


@dataclass(frozen=True)
class Style:
    """How a picture is drawn; per-shape draws are keyed by the shape's name, so a video keeps them."""

    star_inner: float  # inner radius / outer radius
    triangle_height: float  # height / base width
    outline: float  # 0: filled; else the outline's width as a share of the box side
    antialias: bool
    noise: float  # standard deviation of Gaussian pixel noise, 0 for none
    jpeg_quality: int | None  # None: no JPEG round trip
    rotation: float  # degrees; only the held-out renderer turns shapes, by a little
    seed: int  # noise and per-shape draws
    sizes: dict[str, float] = field(default_factory=dict)  # shape name -> where in its size band (0..1)
    jitter: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (x, y) in -1..1 of the room


def sample_style(rng: random.Random, scene: Scene, heldout_renderer: bool = False) -> Style:
    """Training styles vary everything; the held-out renderer's proportions and rotations are its own."""
    names = [s.name for s in scene.objects]
    return Style(
        star_inner=rng.uniform(0.42, 0.55) if heldout_renderer else rng.uniform(0.36, 0.6),
        triangle_height=0.866 if heldout_renderer else rng.uniform(0.75, 1.0),
        outline=rng.choice((0.0, 0.0, rng.uniform(0.12, 0.22))),
        antialias=heldout_renderer or rng.random() < 0.7,
        noise=rng.choice((0.0, rng.uniform(2.0, 10.0))),
        jpeg_quality=rng.choice((None, rng.randint(40, 95))),
        rotation=rng.uniform(-8.0, 8.0) if heldout_renderer else 0.0,
        seed=rng.randrange(2**31),
        sizes={name: rng.random() for name in names},
        jitter={name: (rng.uniform(-1, 1), rng.uniform(-1, 1)) for name in names},
    )


def with_shapes(style: Style, rng: random.Random, names: list[str]) -> Style:
    """The style with draws for shapes it has none for (a shape that appears in a video)."""
    new = [n for n in names if n not in style.sizes]
    sizes = {**style.sizes, **{n: rng.random() for n in new}}
    jitter = {**style.jitter, **{n: (rng.uniform(-1, 1), rng.uniform(-1, 1)) for n in new}}
    return Style(**{**style.__dict__, "sizes": sizes, "jitter": jitter})


@dataclass(frozen=True)
class Drawn:
    """A shape's exact geometry in pixels: the centre of its box and half the box side."""

    kind: str
    colour: str
    cx: float
    cy: float
    half: float


def layout(width: int, height: int, placed: list[Placed], style: Style) -> list[Drawn]:
    """Where each shape is drawn: its box inside its (possibly fractional, mid-move) cell, sized in its band."""
    cell_w, cell_h = width / 3, height / 3
    drawn = []
    for item in placed:
        low, high = SIZE_BANDS[item.shape.size]
        half = min(cell_w, cell_h) * (low + (high - low) * style.sizes.get(item.shape.name, 0.5)) / 2
        jx, jy = style.jitter.get(item.shape.name, (0.0, 0.0))
        cx = (item.col + 0.5) * cell_w + jx * (cell_w / 2 - half)
        cy = (item.row + 0.5) * cell_h + jy * (cell_h / 2 - half)
        drawn.append(Drawn(item.shape.kind, item.shape.colour, cx, cy, half))
    return drawn
