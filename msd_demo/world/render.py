"""Drawing scenes with PIL: flat, undistorted shapes centred in their grid cells.

Shapes are drawn at twice the resolution and downsampled, so edges are smooth while the inside of every
shape keeps its exact named colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from msd_demo.world.scene import COLOURS, SIZES, Scene, Shape

_SUPERSAMPLE = 2
_STAR_INNER_RATIO = 0.5  # a fat star: its points stay visible after squashing to 64x64


@dataclass(frozen=True)
class Placed:
    """A shape drawn at a possibly fractional grid position (row, col), as when it is mid-move."""

    shape: Shape
    row: float
    col: float


def cell_box(width: int, height: int, row: float, col: float) -> tuple[float, float, float]:
    """Centre (x, y) of a (possibly fractional) cell and the cell's shorter side, in pixels."""
    cell_w, cell_h = width / 3, height / 3
    return (col + 0.5) * cell_w, (row + 0.5) * cell_h, min(cell_w, cell_h)


def _star_points(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * _STAR_INNER_RATIO
        angle = -math.pi / 2 + i * math.pi / 5  # first point straight up
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def _draw_shape(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, half: float, fill) -> None:
    box = (cx - half, cy - half, cx + half, cy + half)
    if kind == "circle":
        draw.ellipse(box, fill=fill)
    elif kind == "square":
        draw.rectangle(box, fill=fill)
    elif kind == "triangle":
        draw.polygon([(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)], fill=fill)
    elif kind == "star":
        draw.polygon(_star_points(cx, cy, half), fill=fill)
    else:
        raise ValueError(f"unknown shape kind {kind!r}")


def render_placed(
    width: int, height: int, background: tuple[int, int, int], placed: list[Placed]
) -> Image.Image:
    """An RGB image of width x height with every placed shape drawn on a plain background."""
    scale = _SUPERSAMPLE
    canvas = Image.new("RGB", (width * scale, height * scale), background)
    draw = ImageDraw.Draw(canvas)
    for item in placed:
        cx, cy, side = cell_box(width * scale, height * scale, item.row, item.col)
        half = side * SIZES[item.shape.size] / 2
        _draw_shape(draw, item.shape.kind, cx, cy, half, COLOURS[item.shape.colour])
    return canvas.resize((width, height), Image.Resampling.BOX)


def render_scene(scene: Scene) -> Image.Image:
    """The scene as an RGB image of its own size."""
    placed = [Placed(shape, shape.row, shape.col) for shape in scene.objects]
    return render_placed(scene.width, scene.height, scene.background, placed)
