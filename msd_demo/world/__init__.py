"""A synthetic shapes world: images, videos, questions with exact long answers, and text-only data.

Used only to train the shipped tiny models and to make the example assets; runtime code never imports it.
Everything is deterministic given the `random.Random` passed in.
"""

from msd_demo.world.language import (
    VISUAL_WORDS,
    describe_scene,
    describe_video,
    is_visual_word,
)
from msd_demo.world.phrasings import OFF_TOPIC_ANSWER
from msd_demo.world.questions import (
    IMAGE_KINDS,
    KINDS,
    VIDEO_KINDS,
    Example,
    ask,
    sample_example,
)
from msd_demo.world.render import render_scene
from msd_demo.world.robust import ROBUST_KINDS, sample_robust_example
from msd_demo.world.scene import (
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZES,
    Scene,
    Shape,
    sample_scene,
)
from msd_demo.world.textdata import sample_text_example
from msd_demo.world.video import Event, VideoScene, render_video, sample_video

__all__ = [
    "COLOURS", "IMAGE_KINDS", "KINDS", "OFF_TOPIC_ANSWER", "POSITIONS", "ROBUST_KINDS", "SHAPES", "SIZES", "VIDEO_KINDS", "VISUAL_WORDS",
    "Event", "Example", "Scene", "Shape", "VideoScene",
    "ask", "describe_scene", "describe_video", "is_visual_word", "render_scene", "render_video",
    "sample_example", "sample_robust_example", "sample_scene", "sample_text_example", "sample_video",
]
