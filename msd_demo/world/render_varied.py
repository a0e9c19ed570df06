"""The training renderer for varied pictures: PIL ImageDraw, then noise and a JPEG round trip.

Draws the geometry `variety.layout` gives, in the style's proportions, filled or outlined, aliased or
supersampled. The held-out renderer (render_heldout.py) draws the same geometry with other code.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageDraw

from msd_demo.world.render import Placed
from msd_demo.world.scene import COLOURS, Scene
from msd_demo.world.variety import MIN_STROKE, Drawn, Style, layout, with_shapes
from msd_demo.world.video import VideoScene, placed_at

_SUPERSAMPLE = 3


def star_points(cx: float, cy: float, radius: float, inner: float, turn: float = 0.0) -> list[tuple[float, float]]:
    """A five-pointed star, first point straight up (turned by `turn` radians)."""
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * inner
        angle = -math.pi / 2 + turn + i * math.pi / 5
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def triangle_points(cx: float, cy: float, half: float, height: float) -> list[tuple[float, float]]:
    """Pointing up, base as wide as the box, `height` times the base tall, centred in the box."""
    rise = half * height
    return [(cx, cy - rise), (cx + half, cy + rise), (cx - half, cy + rise)]


def _draw(draw: ImageDraw.ImageDraw, item: Drawn, style: Style, scale: float) -> None:
    cx, cy, half = item.cx * scale, item.cy * scale, item.half * scale
    rgb = COLOURS[item.colour]
    width = max(MIN_STROKE * scale, round(2 * half * style.outline)) if style.outline else 0
    paint = {"outline": rgb, "width": width} if width else {"fill": rgb}
    box = (cx - half, cy - half, cx + half, cy + half)
    if item.kind == "circle":
        draw.ellipse(box, **paint)
    elif item.kind == "square":
        draw.rectangle(box, **paint)
    elif item.kind == "triangle":
        draw.polygon(triangle_points(cx, cy, half, style.triangle_height), **paint)
    else:
        draw.polygon(star_points(cx, cy, half, style.star_inner), **paint)


def degrade(image: Image.Image, style: Style, frame: int = 0) -> Image.Image:
    """Gaussian noise, then a JPEG round trip, as the style says."""
    if style.noise:
        noise = np.random.default_rng(style.seed + frame).normal(0.0, style.noise, (image.height, image.width, 3))
        image = Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8))
    if style.jpeg_quality:
        buffer = io.BytesIO()
        # 4:2:0 chroma halves the colour resolution: a 3-pixel outline would take its background's hue.
        image.save(buffer, format="JPEG", quality=style.jpeg_quality, subsampling=0 if style.outline else 2)
        image = Image.open(buffer).convert("RGB")
    return image


def draw_varied(width: int, height: int, background, placed: list[Placed], style: Style, frame: int = 0) -> Image.Image:
    """One picture: the shapes on a plain background, degraded as the style says."""
    scale = _SUPERSAMPLE if style.antialias else 1
    canvas = Image.new("RGB", (width * scale, height * scale), background)
    draw = ImageDraw.Draw(canvas)
    for item in layout(width, height, placed, style):
        _draw(draw, item, style, scale)
    if scale > 1:
        canvas = canvas.resize((width, height), Image.Resampling.BOX)
    return degrade(canvas, style, frame)


def render_varied_scene(scene: Scene, style: Style) -> Image.Image:
    placed = [Placed(s, s.row, s.col) for s in scene.objects]
    return draw_varied(scene.width, scene.height, scene.background, placed, style)


def render_varied_video(
    video: VideoScene, style: Style, draw=draw_varied, frames: list[int] | None = None
) -> list[Image.Image]:
    """The frames (all, or those listed) in one style; a shape that appears gets its draws too, noise
    differs per frame."""
    names = [s.name for s in video.scene.objects] + [e.shape.name for e in video.events]
    style = with_shapes(style, random.Random(style.seed), names)
    scene = video.scene
    frames = range(video.num_frames) if frames is None else frames
    return [draw(scene.width, scene.height, scene.background, placed_at(video, f), style, f) for f in frames]
