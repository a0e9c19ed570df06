"""Questions about scenes and videos, with exact answers in the canonical language.

Questions come in a few paraphrases so a model learns the intent rather than one string; answers never
vary, so they can be checked word for word.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image

from msd_demo.world.language import (
    count_sentence,
    describe_scene,
    describe_video,
    event_sentence,
    object_phrase,
    plural,
    with_article,
)
from msd_demo.world.render import render_scene
from msd_demo.world.scene import (
    COLOURS,
    SHAPES,
    Scene,
    contrasting_colours,
    sample_scene,
)
from msd_demo.world.video import (
    EVENT_KINDS,
    MAX_EVENTS,
    VideoScene,
    render_video,
    sample_video,
)

IMAGE_KINDS: tuple[str, ...] = ("describe", "count", "colour", "where", "exists")
VIDEO_KINDS: tuple[str, ...] = ("describe_video", "motion")
KINDS: tuple[str, ...] = IMAGE_KINDS + VIDEO_KINDS

DESCRIBE_PROMPTS = (
    "Describe the picture in detail.",
    "Describe this image.",
    "What do you see in this image?",
    "Give a detailed description of the picture.",
    "List every shape in the image and where it is.",
)
DESCRIBE_VIDEO_PROMPTS = (
    "Describe the video in detail.",
    "What happens in this video?",
    "Describe what you see in the video and what happens.",
    "Give a detailed description of the video.",
)
_COUNT_ALL = ("How many shapes are there?", "How many shapes are in the picture?", "Count the shapes.")
_COUNT_COLOUR = ("How many {colour} shapes are there?", "Count the {colour} shapes in the image.")
_COUNT_KIND = ("How many {kinds} are there?", "Count the {kinds} in the picture.")
_COLOUR = (
    "What colour is the {kind} at the {position}?",
    "What color is the {kind} at the {position}?",
    "Which colour does the {kind} at the {position} have?",
)
_WHERE = ("Where is the {name}?", "Where in the picture is the {name}?", "Where can you see the {name}?")
_EXISTS = ("Is there {a_name}?", "Is there {a_name} in the picture?", "Does the image contain {a_name}?")
_MOTION = (
    "Which way does the {name} move?",
    "In which direction does the {name} move?",
    "Where does the {name} move?",
)


@dataclass
class Example:
    media: list[Image.Image]  # one image, or every frame of a video
    question: str
    answer: str
    kind: str  # one of KINDS
    scene: Scene | VideoScene


def ask_count(rng: random.Random, scene: Scene) -> tuple[str, str]:
    """How many shapes in all, of one colour, or of one kind; the answer lists the ones counted."""
    topic = rng.choice(("all", "colour", "kind"))
    if topic == "all":
        return rng.choice(_COUNT_ALL), count_sentence(list(scene.objects), "shape", "shapes")
    if topic == "colour":
        colour = rng.choice(contrasting_colours(scene.background_name))
        shapes = [s for s in scene.objects if s.colour == colour]
        return rng.choice(_COUNT_COLOUR).format(colour=colour), count_sentence(
            shapes, f"{colour} shape", f"{colour} shapes"
        )
    kind = rng.choice(SHAPES)
    shapes = [s for s in scene.objects if s.kind == kind]
    return rng.choice(_COUNT_KIND).format(kinds=plural(kind)), count_sentence(shapes, kind, plural(kind))


def ask_colour(rng: random.Random, scene: Scene) -> tuple[str, str]:
    shape = rng.choice(scene.objects)
    question = rng.choice(_COLOUR).format(kind=shape.kind, position=shape.position)
    return question, f"The {shape.kind} at the {shape.position} is {shape.colour}."


def ask_where(rng: random.Random, scene: Scene) -> tuple[str, str]:
    shape = rng.choice(scene.objects)
    return rng.choice(_WHERE).format(name=shape.name), f"The {shape.name} is at the {shape.position}."


def ask_exists(rng: random.Random, scene: Scene) -> tuple[str, str]:
    """Half yes (a shape that is there), half no (a colour and kind that is not); both explain."""
    present = {s.name: s for s in scene.objects}
    if rng.random() < 0.5:
        shape = rng.choice(scene.objects)
        name, answer = shape.name, f"Yes, there is {object_phrase(shape)}."
    else:
        absent = [f"{c} {k}" for c in COLOURS for k in SHAPES if f"{c} {k}" not in present]
        name = rng.choice(absent)
        kind = name.split()[-1]
        same_kind = [s for s in scene.objects if s.kind == kind]
        answer = f"No, there is no {name}. " + count_sentence(same_kind, kind, plural(kind))
    return rng.choice(_EXISTS).format(a_name=with_article(name)), answer


def ask_motion(rng: random.Random, video: VideoScene) -> tuple[str, str]:
    """About a shape that moves; the video must have a move event."""
    event = rng.choice([e for e in video.events if e.kind == "move"])
    return rng.choice(_MOTION).format(name=event.shape.name), event_sentence(event)


_ASKS = {"count": ask_count, "colour": ask_colour, "where": ask_where, "exists": ask_exists, "motion": ask_motion}


def ask(rng: random.Random, kind: str, scene: Scene | VideoScene) -> tuple[str, str]:
    """A (question, answer) pair of a kind; image kinds take a Scene, video kinds a VideoScene."""
    if kind == "describe":
        return rng.choice(DESCRIBE_PROMPTS), describe_scene(scene)
    if kind == "describe_video":
        return rng.choice(DESCRIBE_VIDEO_PROMPTS), describe_video(scene)
    if kind not in _ASKS:
        raise ValueError(f"unknown question kind {kind!r}; allowed: {', '.join(KINDS)}")
    return _ASKS[kind](rng, scene)


def sample_video_for(rng: random.Random, kind: str, split: str) -> VideoScene:
    """A random video; for "motion" one of its events is forced to be a move."""
    if kind != "motion":
        return sample_video(rng, split)
    kinds = [rng.choice(EVENT_KINDS) for _ in range(rng.randint(1, MAX_EVENTS))]
    kinds[rng.randrange(len(kinds))] = "move"
    return sample_video(rng, split, tuple(kinds))


def sample_example(rng: random.Random, split: str = "train", kind: str | None = None) -> Example:
    """A rendered image or video with a question of `kind` (random when None) and its exact answer."""
    kind = rng.choice(KINDS) if kind is None else kind
    if kind in VIDEO_KINDS:
        video = sample_video_for(rng, kind, split)
        question, answer = ask(rng, kind, video)
        return Example(render_video(video), question, answer, kind, video)
    if kind not in IMAGE_KINDS:
        raise ValueError(f"unknown question kind {kind!r}; allowed: {', '.join(KINDS)}")
    scene = sample_scene(rng, split)
    question, answer = ask(rng, kind, scene)
    return Example([render_scene(scene)], question, answer, kind, scene)
