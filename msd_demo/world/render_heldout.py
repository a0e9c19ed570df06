"""The held-out renderer: written apart from the training one, so a model is measured on drawing code it
never saw. Pure numpy: each pixel is sampled on a 4x4 grid, every sample is tested against the shape
(distance for a circle, half-planes for polygons, even-odd crossings for the star), and the share inside
blends the colour in. Shapes may be turned a few degrees; an outline is the shape minus a shrunk copy.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from msd_demo.world.render import Placed
from msd_demo.world.render_varied import degrade, render_varied_video
from msd_demo.world.scene import COLOURS, Scene
from msd_demo.world.variety import MIN_STROKE, Drawn, Style, layout
from msd_demo.world.video import VideoScene

_SAMPLES = 4  # per pixel side


def _polygon(kind: str, half: float, style: Style) -> np.ndarray:
    """The shape's corners around (0, 0), first point up, as [N, 2] (x, y)."""
    if kind == "square":
        return np.array([(-half, -half), (half, -half), (half, half), (-half, half)])
    if kind == "triangle":
        rise = half * style.triangle_height
        return np.array([(0.0, -rise), (half, rise), (-half, rise)])
    angles = -math.pi / 2 + np.arange(10) * math.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, half, half * style.star_inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _inside_polygon(x: np.ndarray, y: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Even-odd rule: a point is inside when a ray to its right crosses the outline an odd number of times."""
    inside = np.zeros(x.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(corners, np.roll(corners, -1, axis=0)):
        spans = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing_x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= spans & (x < crossing_x)
    return inside


def _inside(kind: str, x: np.ndarray, y: np.ndarray, half: float, style: Style) -> np.ndarray:
    """Samples (x, y) relative to the shape's centre, already turned back by the shape's rotation."""
    if kind == "circle":
        return x * x + y * y <= half * half
    return _inside_polygon(x, y, _polygon(kind, half, style))


def _coverage(item: Drawn, style: Style, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    """Share of each pixel's samples inside the shape (or its outline), over the pixels from (x0, y0): [H, W]."""
    turn = math.radians(style.rotation)
    # A turned shape is shrunk so that it still fits its box, and so its cell.
    half = item.half / (abs(math.cos(turn)) + abs(math.sin(turn))) if item.kind != "circle" else item.half
    steps = (np.arange(width * _SAMPLES) + 0.5) / _SAMPLES + x0, (np.arange(height * _SAMPLES) + 0.5) / _SAMPLES + y0
    xs, ys = np.meshgrid(*steps)
    dx, dy = xs - item.cx, ys - item.cy
    x, y = dx * math.cos(turn) + dy * math.sin(turn), -dx * math.sin(turn) + dy * math.cos(turn)
    inside = _inside(item.kind, x, y, half, style)
    if style.outline:
        stroke = max(float(MIN_STROKE), 2 * half * style.outline)
        inside &= ~_inside(item.kind, x, y, max(half - stroke, 0.0), style)
    return inside.reshape(height, _SAMPLES, width, _SAMPLES).mean(axis=(1, 3))


def draw_heldout(width: int, height: int, background, placed: list[Placed], style: Style, frame: int = 0) -> Image.Image:
    """One picture, drawn by sampling each shape's box (and a pixel around it), then degraded."""
    pixels = np.empty((height, width, 3))
    pixels[:] = background
    for item in layout(width, height, placed, style):
        x0, y0 = max(0, math.floor(item.cx - item.half) - 1), max(0, math.floor(item.cy - item.half) - 1)
        x1, y1 = min(width, math.ceil(item.cx + item.half) + 1), min(height, math.ceil(item.cy + item.half) + 1)
        alpha = _coverage(item, style, x0, y0, x1 - x0, y1 - y0)[..., None]
        box = pixels[y0:y1, x0:x1]
        pixels[y0:y1, x0:x1] = box * (1 - alpha) + np.array(COLOURS[item.colour], dtype=np.float64) * alpha
    return degrade(Image.fromarray(np.round(pixels).astype(np.uint8)), style, frame)


def render_heldout_scene(scene: Scene, style: Style) -> Image.Image:
    placed = [Placed(s, s.row, s.col) for s in scene.objects]
    return draw_heldout(scene.width, scene.height, scene.background, placed, style)


def render_heldout_video(video: VideoScene, style: Style, frames: list[int] | None = None) -> list[Image.Image]:
    return render_varied_video(video, style, draw=draw_heldout, frames=frames)
