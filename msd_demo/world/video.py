"""Short videos of the shapes world: a still scene in which one or two events happen, one after another.

Events: a shape moves up, down, left or right to a neighbouring cell (or two cells along a free path),
a new shape appears in an empty cell, or a shape disappears. Every event involves a different shape,
so "the red circle" names one track and "which way does the red circle move?" has one answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image

from msd_demo.world.render import Placed, render_placed
from msd_demo.world.scene import POSITIONS, Scene, Shape, cell_index, sample_scene, sample_shapes

EVENT_KINDS: tuple[str, ...] = ("move", "appear", "disappear")
DIRECTIONS: dict[str, tuple[int, int]] = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
MIN_FRAMES, MAX_FRAMES = 8, 32
MAX_EVENTS = 2


@dataclass(frozen=True)
class Event:
    kind: str  # one of EVENT_KINDS
    shape: Shape  # where it starts (move), where it is (disappear) or where it shows up (appear)
    start: int  # first frame of the change; appear/disappear happen exactly at this frame
    end: int  # frame the move arrives; equal to start for appear/disappear
    to_row: int
    to_col: int

    @property
    def destination(self) -> str:
        return POSITIONS[cell_index(self.to_row, self.to_col)]

    @property
    def direction(self) -> str:
        """'up', 'down', 'left' or 'right' for a move."""
        step = (_sign(self.to_row - self.shape.row), _sign(self.to_col - self.shape.col))
        return next(name for name, delta in DIRECTIONS.items() if delta == step)


@dataclass(frozen=True)
class VideoScene:
    scene: Scene  # the first frame: background, size and the shapes present at the start
    events: tuple[Event, ...]  # in time order
    num_frames: int


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _event_frames(index: int, count: int, num_frames: int, kind: str) -> tuple[int, int]:
    """Each event gets its own equal slice of time, with still frames before and after the change."""
    slice_len = num_frames // count
    first = index * slice_len
    if kind == "move":
        return first + slice_len // 4, first + (3 * slice_len) // 4
    middle = first + slice_len // 2
    return middle, middle


def _move_options(shape: Shape, occupied: dict[int, Shape]) -> list[tuple[int, int]]:
    """Destination cells one or two steps away whose path is free of other shapes."""
    options = []
    for d_row, d_col in DIRECTIONS.values():
        for steps in (1, 2):
            row, col = shape.row + d_row * steps, shape.col + d_col * steps
            if not (0 <= row < 3 and 0 <= col < 3) or cell_index(row, col) in occupied:
                break  # off the grid or blocked: going further would pass through something
            options.append((row, col))
    return options


def _sample_event(
    rng: random.Random, kind: str, occupied: dict[int, Shape], involved: set[str], background_name: str
) -> tuple[Shape, int, int]:
    """The shape an event acts on and its final cell; `occupied` maps cell index -> shape right now."""
    free_shapes = [s for s in occupied.values() if s.name not in involved]
    if kind == "disappear":
        shape = rng.choice(free_shapes)
        return shape, shape.row, shape.col
    if kind == "appear":
        cell = rng.choice([c for c in range(9) if c not in occupied])
        taken = involved | {s.name for s in occupied.values()}
        shape = sample_shapes(rng, background_name, [cell], taken)[0]
        return shape, shape.row, shape.col
    moves = [(s, row, col) for s in free_shapes for row, col in _move_options(s, occupied)]
    return rng.choice(moves)


def sample_video(
    rng: random.Random,
    split: str = "train",
    event_kinds: tuple[str, ...] | None = None,
    num_frames: int | None = None,
    sample=sample_scene,
) -> VideoScene:
    """A random video; `event_kinds` and `num_frames` fix those, else 1-2 random events and 8-32 frames.
    `sample` draws the first frame's scene (variety.sample_varied_scene for varied pictures)."""
    if event_kinds is None:
        event_kinds = tuple(rng.choice(EVENT_KINDS) for _ in range(rng.randint(1, MAX_EVENTS)))
    if not 1 <= len(event_kinds) <= MAX_EVENTS or any(k not in EVENT_KINDS for k in event_kinds):
        raise ValueError(f"event_kinds: 1 to {MAX_EVENTS} of {', '.join(EVENT_KINDS)}; got {event_kinds}")
    if num_frames is None:
        num_frames = rng.randint(MIN_FRAMES, MAX_FRAMES)
    if not MIN_FRAMES <= num_frames <= MAX_FRAMES:
        raise ValueError(f"num_frames must be {MIN_FRAMES} to {MAX_FRAMES}, got {num_frames}")
    # At least one shape per event (a move or disappear needs one) and room left for moves and appears.
    scene = sample(rng, split, min_objects=len(event_kinds), max_objects=6)
    occupied = {s.cell: s for s in scene.objects}
    involved: set[str] = set()
    events = []
    for index, kind in enumerate(event_kinds):
        shape, to_row, to_col = _sample_event(rng, kind, occupied, involved, scene.background_name)
        start, end = _event_frames(index, len(event_kinds), num_frames, kind)
        events.append(Event(kind, shape, start, end, to_row, to_col))
        involved.add(shape.name)
        occupied.pop(shape.cell, None)
        if kind != "disappear":
            occupied[cell_index(to_row, to_col)] = Shape(shape.kind, shape.colour, shape.size, to_row, to_col)
    return VideoScene(scene, tuple(events), num_frames)


def _ease(progress: float) -> float:
    """Smoothstep: the move starts and stops gently instead of jerking."""
    progress = min(1.0, max(0.0, progress))
    return progress * progress * (3 - 2 * progress)


def placed_at(video: VideoScene, frame: int) -> list[Placed]:
    """Where every visible shape is at a frame."""
    placed = {s.name: Placed(s, s.row, s.col) for s in video.scene.objects}
    for event in video.events:
        shape = event.shape
        if event.kind == "move":
            p = _ease((frame - event.start) / (event.end - event.start))
            placed[shape.name] = Placed(
                shape, shape.row + p * (event.to_row - shape.row), shape.col + p * (event.to_col - shape.col)
            )
        elif frame >= event.start:
            if event.kind == "appear":
                placed[shape.name] = Placed(shape, shape.row, shape.col)
            else:
                del placed[shape.name]
    return list(placed.values())


def render_video(video: VideoScene) -> list[Image.Image]:
    """Every frame as an RGB image of the scene's size."""
    scene = video.scene
    return [
        render_placed(scene.width, scene.height, scene.background, placed_at(video, frame))
        for frame in range(video.num_frames)
    ]
