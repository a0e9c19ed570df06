"""Examples as a visitor brings them: their own words, varied pictures, grounded answers, off-topic requests.

`sample_robust_example(rng, split, kind, renderer, aspect)` draws a varied scene (or video) of `split`, draws
it with the training renderer or the held-out one, asks in a phrasing of `split` and answers in the
grounded form. The next retraining learns from split "train" with the training renderer; the honest
measurement (msd_demo/training/robustness.py) uses split "heldout" with both renderers.
"""

from __future__ import annotations

import random
from functools import partial

from msd_demo.inputs.media import uniform_frame_indices
from msd_demo.world.grounded import (
    colour_answer,
    count_answer,
    describe_video_answer,
    exists_answer,
    motion_answer,
    where_answer,
)
from msd_demo.world.language import describe_scene
from msd_demo.world.phrasings import OFF_TOPIC_ANSWER, off_topic_request, phrase
from msd_demo.world.questions import KINDS, VIDEO_KINDS, Example
from msd_demo.world.render_heldout import render_heldout_scene, render_heldout_video
from msd_demo.world.render_varied import render_varied_scene, render_varied_video
from msd_demo.world.scene import check_split
from msd_demo.world.variety import sample_style, sample_varied_scene
from msd_demo.world.video import EVENT_KINDS, MAX_EVENTS, VideoScene, sample_video

OFF_TOPIC = "off_topic"
ROBUST_KINDS: tuple[str, ...] = (*KINDS, OFF_TOPIC)
RENDERERS: tuple[str, ...] = ("train", "heldout")  # the training renderer (PIL) and the held-out one (numpy)
OFF_TOPIC_VIDEO_SHARE = 0.3

_IMAGE_ANSWERS = {"count": count_answer, "colour": colour_answer, "where": where_answer, "exists": exists_answer}


def check_renderer(renderer: str) -> str:
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r}; allowed: {', '.join(RENDERERS)}")
    return renderer


def grounded_answer(rng: random.Random, kind: str, scene, training: bool = False) -> tuple[dict, str]:
    """(question slots, grounded answer) for a kind; image kinds take a Scene, video kinds a VideoScene.
    `training` asks as training data does (grounded.TRAIN_PRESENT_COUNT_SHARE, TRAIN_NEAR_ABSENT_SHARE)."""
    if kind == "describe":
        return {}, describe_scene(scene)
    if kind == "describe_video":
        return {}, describe_video_answer(scene)
    if kind == "motion":
        return motion_answer(rng, scene)
    if kind not in _IMAGE_ANSWERS:
        raise ValueError(f"unknown question kind {kind!r}; allowed: {', '.join(ROBUST_KINDS)}")
    return _IMAGE_ANSWERS[kind](rng, scene, training)


# Of the video descriptions training draws (split "train"), this share hold two events; other videos hold one or two
# alike. Session 46 measured session 45's target on 96 held-out video descriptions: the halfway list was right in 26
# of 40 one-event videos (where it is the first frame again) and in 4 of 56 two-event ones (where it must hold the
# first event), which half of the samples taught.
TRAIN_TWO_EVENT_DESCRIPTION_SHARE = 0.7


def _event_count(rng: random.Random, split: str, kind: str) -> int:
    if split == "train" and kind == "describe_video":
        return MAX_EVENTS if rng.random() < TRAIN_TWO_EVENT_DESCRIPTION_SHARE else 1
    return rng.randint(1, MAX_EVENTS)  # the held-out draws stay as they were, rng call for rng call


def sample_varied_video(rng: random.Random, split: str, kind: str, aspect: float | None = None) -> VideoScene:
    """A video on a varied scene; for "motion" one of its events is a move."""
    kinds = [rng.choice(EVENT_KINDS) for _ in range(_event_count(rng, split, kind))]
    if kind == "motion":
        kinds[rng.randrange(len(kinds))] = "move"
    return sample_video(rng, split, tuple(kinds), sample=partial(sample_varied_scene, aspect=aspect))


def draw_media(rng: random.Random, scene, renderer: str, video_frames: int | None) -> list:
    """The picture, or the video's frames (all, or `video_frames` of them evenly spaced), in a fresh style."""
    heldout = check_renderer(renderer) == "heldout"
    if isinstance(scene, VideoScene):
        style = sample_style(rng, scene.scene, heldout)
        frames = None if video_frames is None else uniform_frame_indices(scene.num_frames, video_frames)
        return (render_heldout_video if heldout else render_varied_video)(scene, style, frames=frames)
    style = sample_style(rng, scene, heldout)
    return [(render_heldout_scene if heldout else render_varied_scene)(scene, style)]


def sample_robust_example(
    rng: random.Random, split: str = "train", kind: str | None = None, renderer: str = "train",
    aspect: float | None = None, video_frames: int | None = None, video: bool | None = None, empty: bool = False,
) -> Example:
    """A varied picture or video with a question of `kind` (random when None) in a phrasing of `split` and
    its grounded answer; off-topic requests get OFF_TOPIC_ANSWER whatever the media (a video when `video`,
    a picture when not, either when None). An `empty` picture holds no shape (a video always holds some)."""
    check_split(split)
    kind = rng.choice(ROBUST_KINDS) if kind is None else kind
    if kind not in ROBUST_KINDS:
        raise ValueError(f"unknown question kind {kind!r}; allowed: {', '.join(ROBUST_KINDS)}")
    if kind != OFF_TOPIC or video is None:
        video = kind in VIDEO_KINDS or (kind == OFF_TOPIC and rng.random() < OFF_TOPIC_VIDEO_SHARE)
    if video:
        scene = sample_varied_video(rng, split, kind, aspect)
    elif empty:
        scene = sample_varied_scene(rng, split, min_objects=0, max_objects=0, aspect=aspect)
    else:
        scene = sample_varied_scene(rng, split, aspect=aspect)
    if kind == OFF_TOPIC:
        question, answer = off_topic_request(rng, split), OFF_TOPIC_ANSWER
    else:
        slots, answer = grounded_answer(rng, kind, scene, training=split == "train")
        question = phrase(rng, kind, split, **slots)
    return Example(draw_media(rng, scene, renderer, video_frames), question, answer, kind, scene)
