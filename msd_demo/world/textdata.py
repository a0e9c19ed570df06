"""Text-only instruction data in the world's language, for a drafter's first, text-only training stage.

The scene is written out as a terse list in the question, so every answer can be read off the text: a
text-only model learns the canonical answer language (sentence shapes, reading order, event sentences)
without ever seeing pixels. At run time the list is missing, which is why such a drafter then fails on
exactly the visual words.
"""

from __future__ import annotations

import random

from msd_demo.world.phrasings import OFF_TOPIC_ANSWER, off_topic_request, phrase
from msd_demo.world.questions import KINDS, VIDEO_KINDS, ask, sample_video_for
from msd_demo.world.robust import OFF_TOPIC, ROBUST_KINDS, grounded_answer, sample_varied_video
from msd_demo.world.scene import Scene, Shape, sample_scene
from msd_demo.world.variety import sample_varied_scene
from msd_demo.world.video import Event, VideoScene


def _shape_item(shape: Shape) -> str:
    return f"{shape.size} {shape.colour} {shape.kind}, {shape.position}"


def scene_text(scene: Scene) -> str:
    """'Background: cream. Shapes: small red circle, top left; large black star, center.'"""
    return f"Background: {scene.background_name}. Shapes: {'; '.join(_shape_item(s) for s in scene.objects)}."


def _event_item(event: Event) -> str:
    if event.kind == "move":
        return f"{event.shape.colour} {event.shape.kind} goes {event.direction} to {event.destination}"
    if event.kind == "appear":
        return f"{_shape_item(event.shape)} shows up"
    return f"{event.shape.colour} {event.shape.kind} vanishes"


def video_text(video: VideoScene) -> str:
    """The first frame as scene_text, then 'Events: ...' in time order."""
    events = "; ".join(_event_item(e) for e in video.events)
    return f"Video. {scene_text(video.scene)} Events: {events}."


def sample_text_example(rng: random.Random, split: str = "train") -> tuple[str, str]:
    """(question with the scene written out, canonical answer) for a random question kind."""
    kind = rng.choice(KINDS)
    if kind in VIDEO_KINDS:
        video = sample_video_for(rng, kind, split)
        question, answer = ask(rng, kind, video)
        return f"{video_text(video)}\n{question}", answer
    scene = sample_scene(rng, split)
    question, answer = ask(rng, kind, scene)
    return f"{scene_text(scene)}\n{question}", answer


def sample_grounded_text_example(rng: random.Random, split: str = "train") -> tuple[str, str]:
    """As sample_text_example, on varied scenes, in the split's phrasings, with grounded answers (robust.py);
    an off-topic request gets the fixed answer here too."""
    kind = rng.choice(ROBUST_KINDS)
    video = kind in VIDEO_KINDS or (kind == OFF_TOPIC and rng.random() < 0.3)
    scene = sample_varied_video(rng, split, kind) if video else sample_varied_scene(rng, split)
    written = video_text(scene) if video else scene_text(scene)
    if kind == OFF_TOPIC:
        return f"{written}\n{off_topic_request(rng, split)}", OFF_TOPIC_ANSWER
    slots, answer = grounded_answer(rng, kind, scene)
    return f"{written}\n{phrase(rng, kind, split, **slots)}", answer
