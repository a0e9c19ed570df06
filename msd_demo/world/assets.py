"""Writes the shipped example media: `python -m msd_demo.world.assets [OUT_DIR]` (default: assets/).

World images and videos come from the heldout split, so the shipped models have never seen their sizes or
background shades. A visitor's examples (issue 21) follow them, on the app's second page: pictures and a
video drawn by the held-out renderer (render_heldout.py, code training never ran) at wide, tall and square
aspect ratios, asked in held-out phrasings, with grounded answers, an off-topic request, and a picture with no shape.
Three procedurally drawn off-distribution images show what the tiny models do outside their world. The jsonl files list them with
prompts: examples.jsonl for the app's examples, suite.jsonl for `python -m msd_demo bench --suite`. Rows
from the world carry their exact expected `answer` (and `kind`, which says what of it must match).
"""

from __future__ import annotations

import argparse
import json
import random
from functools import partial
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from msd_demo.world.language import describe_video
from msd_demo.world.phrasings import OFF_TOPIC_ANSWER, off_topic_request, phrase
from msd_demo.world.questions import ask
from msd_demo.world.render import render_scene
from msd_demo.world.render_heldout import render_heldout_scene, render_heldout_video
from msd_demo.world.robust import OFF_TOPIC, grounded_answer
from msd_demo.world.scene import sample_scene
from msd_demo.world.variety import Style, sample_style, sample_varied_scene
from msd_demo.world.video import render_video, sample_video

SEED = 2025
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "assets"
VIDEO_FPS = 8
VIDEO_FRAMES = 16
# (object count, question kind asked in examples.jsonl) for each world image.
IMAGE_PLAN = ((2, "describe"), (3, "count"), (4, "where"), (5, "exists"), (6, "colour"), (6, "describe"))
# (events, question kind in examples.jsonl) for each world video.
VIDEO_PLAN = (
    (("move",), "describe_video"),
    (("appear", "move"), "motion"),
    (("disappear",), "describe_video"),
)
SUITE_VIDEOS = 2
VISITOR_SEED = SEED + 21  # its own stream: the first examples' rows and files stay as they were
# (file name, aspect ratio width / height, object count, question kind) of each visitor picture.
VISITOR_PLAN = (("visitor_wide.png", 3.0, 5, "where"), ("visitor_tall.png", 1 / 3, 4, "count"),
                ("visitor_square.png", 1.0, 3, "describe"))
VISITOR_VIDEO = "visitor_video.mp4"
VISITOR_BLANK = "visitor_blank.png"  # a picture with no shape at all: the answer says so instead of inventing shapes
DESCRIBE_PROMPT = "Describe the picture in detail."
DESCRIBE_VIDEO_PROMPT = "Describe the video in detail."


def write_mp4(frames: list[Image.Image], path: Path, fps: int = VIDEO_FPS) -> None:
    """H.264 in yuv420p, the format browsers and decord both read; frame sizes must be even."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18"}  # near-lossless: flat colours must stay their named colours
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_image(frame)))
        container.mux(stream.encode())  # flush delayed frames


def offdist_landscape() -> Image.Image:
    """A sky gradient, a sun and two hills: nothing the shapes world can name correctly."""
    width, height = 256, 160
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = (1 - t) * np.array([70, 130, 220]) + t * np.array([250, 200, 150])
    image = Image.fromarray(np.broadcast_to(sky, (height, width, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((170, 25, 215, 70), fill=(255, 220, 60))
    draw.polygon([(0, 160), (0, 100), (90, 70), (180, 115), (180, 160)], fill=(60, 140, 70))
    draw.polygon([(80, 160), (200, 95), (256, 110), (256, 160)], fill=(35, 100, 50))
    return image


def offdist_checkerboard() -> Image.Image:
    """A black and white checkerboard with a text label."""
    cells = (np.indices((8, 8)).sum(axis=0) % 2 * 255).astype(np.uint8)
    image = Image.fromarray(cells).resize((192, 192), Image.Resampling.NEAREST).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((24, 78, 168, 114), fill=(200, 30, 30))
    draw.text((96, 96), "MSD DEMO", fill=(255, 255, 255), anchor="mm", font=ImageFont.load_default(size=22))
    return image


def offdist_noise() -> Image.Image:
    """Smooth colour noise: low-frequency, so the PNG stays small."""
    coarse = np.random.default_rng(SEED).integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((160, 160), Image.Resampling.BICUBIC)


def write_world_images(out: Path, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """The world's images; returns (examples rows, suite rows)."""
    examples, suite = [], []
    for index, (count, kind) in enumerate(IMAGE_PLAN, start=1):
        scene = sample_scene(rng, "heldout", min_objects=count, max_objects=count)
        name = f"shapes_{index}.png"
        render_scene(scene).save(out / name)
        question, answer = ask(rng, kind, scene)
        examples.append({"image": name, "prompt": question, "kind": kind, "answer": answer})
        _, description = ask(rng, "describe", scene)
        suite.append({"image": name, "prompt": DESCRIBE_PROMPT, "kind": "describe", "answer": description})
    return examples, suite


def write_world_videos(out: Path, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """The world's videos; returns (examples rows, suite rows for the first SUITE_VIDEOS)."""
    examples, suite = [], []
    for index, (events, kind) in enumerate(VIDEO_PLAN, start=1):
        video = sample_video(rng, "heldout", events, num_frames=VIDEO_FRAMES)
        name = f"video_{index}.mp4"
        write_mp4(render_video(video), out / name)
        question, answer = ask(rng, kind, video)
        examples.append({"video": name, "prompt": question, "kind": kind, "answer": answer})
        if index <= SUITE_VIDEOS:
            row = {"video": name, "prompt": DESCRIBE_VIDEO_PROMPT, "kind": "describe_video"}
            suite.append({**row, "answer": describe_video(video)})
    return examples, suite


def clean_heldout_style(rng: random.Random, scene):
    """A held-out renderer's style without noise or JPEG: a flat PNG stays a few kilobytes."""
    style = sample_style(rng, scene, heldout_renderer=True)
    return Style(**{**style.__dict__, "noise": 0.0, "jpeg_quality": None})


def write_visitor_examples(out: Path, rng: random.Random) -> list[dict]:
    """A visitor's examples: held-out renderer, held-out phrasings, grounded answers, an off-topic request."""
    rows = []
    for name, aspect, count, kind in VISITOR_PLAN:
        scene = sample_varied_scene(rng, "heldout", count, count, aspect=aspect)
        render_heldout_scene(scene, clean_heldout_style(rng, scene)).save(out / name)
        slots, answer = grounded_answer(rng, kind, scene)
        rows.append({"image": name, "prompt": phrase(rng, kind, "heldout", **slots), "kind": kind, "answer": answer})
    video = sample_video(rng, "heldout", ("move",), num_frames=VIDEO_FRAMES, sample=partial(sample_varied_scene, aspect=3.0))
    write_mp4(render_heldout_video(video, clean_heldout_style(rng, video.scene)), out / VISITOR_VIDEO)
    slots, answer = grounded_answer(rng, "motion", video)
    rows.append({"video": VISITOR_VIDEO, "prompt": phrase(rng, "motion", "heldout", **slots), "kind": "motion", "answer": answer})
    rows.append({"image": VISITOR_PLAN[0][0], "prompt": off_topic_request(rng, "heldout"), "kind": OFF_TOPIC, "answer": OFF_TOPIC_ANSWER})
    blank = sample_varied_scene(rng, "heldout", 0, 0)
    render_heldout_scene(blank, clean_heldout_style(rng, blank)).save(out / VISITOR_BLANK)
    slots, answer = grounded_answer(rng, "count", blank)
    rows.append({"image": VISITOR_BLANK, "prompt": phrase(rng, "count", "heldout", **slots), "kind": "count", "answer": answer})
    return rows


def write_offdist_images(out: Path) -> list[dict]:
    drawings = {"landscape": offdist_landscape, "checkerboard": offdist_checkerboard, "noise": offdist_noise}
    rows = []
    for name, draw in drawings.items():
        draw().save(out / f"offdist_{name}.png")
        rows.append({"image": f"offdist_{name}.png", "prompt": DESCRIBE_PROMPT, "kind": "describe"})
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def write_assets(out: Path = DEFAULT_DIR, seed: int = SEED) -> None:
    """Every asset, deterministically from `seed`."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    image_examples, image_suite = write_world_images(out, rng)
    video_examples, video_suite = write_world_videos(out, rng)
    offdist = write_offdist_images(out)
    visitor = write_visitor_examples(out, random.Random(VISITOR_SEED))
    _write_jsonl(out / "examples.jsonl", image_examples + video_examples + visitor + offdist)
    _write_jsonl(out / "suite.jsonl", image_suite + video_suite)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_DIR, help="output folder")
    write_assets(parser.parse_args().out)


if __name__ == "__main__":
    main()
