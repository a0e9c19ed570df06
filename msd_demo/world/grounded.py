"""Grounded answers: first say what is seen, then answer from it.

A small transformer finds "the red circle" in an image by identity poorly, but copies a fact from its own
text well. So every answer that needs a lookup, a count or motion first lists what is there ("I see a
yellow circle at the top left, a red square at the center and ..."), then answers by reading that list:
"Two of them are circles, so there are two circles." Motion lists the first and the last frame, then says
where the shape starts and ends, then the direction. The answers are long enough for a drafter to pay.

Each `*_answer(rng, scene)` picks what to ask about and returns (the question's slots, the exact answer).
"""

from __future__ import annotations

import random

from msd_demo.world.language import describe_scene, join_list, number_word, plural, with_article
from msd_demo.world.scene import COLOURS, POSITIONS, SHAPES, Scene, Shape, contrasting_colours
from msd_demo.world.video import Event, VideoScene, placed_at

ABSENT_SHARE = 0.15  # where and colour questions about a shape that is not there: the answer says so


def seen_phrase(shape: Shape) -> str:
    """'a yellow circle at the top left': what is needed to answer, without the size."""
    return f"{with_article(shape.name)} at the {shape.position}"


def i_see(shapes: tuple[Shape, ...] | list[Shape]) -> str:
    """'I see a yellow circle at the top left and a red square at the center.' in reading order."""
    if not shapes:
        return "I see no shapes."
    return f"I see {join_list([seen_phrase(s) for s in shapes])}."


def _count_claim(count: int, noun: str, nouns: str, which: str) -> str:
    """'Two of them are circles, so there are two circles.' ('which' is what the counted ones are)."""
    if count == 0:
        return f"None of them is {which[0]}, so there are no {nouns}."
    if count == 1:
        return f"One of them is {which[0]}, so there is one {noun}."
    return f"{number_word(count).capitalize()} of them are {which[1]}, so there are {number_word(count)} {nouns}."


def count_answer(rng: random.Random, scene: Scene) -> tuple[dict, str]:
    """How many shapes in all, of one colour, or of one kind."""
    seen = i_see(scene.objects)
    topic = rng.choice(("all", "colour", "kind"))
    if topic == "all":
        total = len(scene.objects)
        noun = "shape" if total == 1 else "shapes"
        verb = "is" if total == 1 else "are"
        return {"things": "shapes"}, f"{seen} So there {verb} {number_word(total)} {noun}."
    if topic == "colour":
        colour = rng.choice(contrasting_colours(scene.background_name))
        count = sum(s.colour == colour for s in scene.objects)
        claim = _count_claim(count, f"{colour} shape", f"{colour} shapes", (colour, colour))
        return {"things": f"{colour} shapes"}, f"{seen} {claim}"
    kind = rng.choice(SHAPES)
    count = sum(s.kind == kind for s in scene.objects)
    claim = _count_claim(count, kind, plural(kind), (with_article(kind), plural(kind)))
    return {"things": plural(kind)}, f"{seen} {claim}"


def colour_answer(rng: random.Random, scene: Scene) -> tuple[dict, str]:
    """The colour of the <kind> at <place>; now and then a kind and place where nothing of that kind is."""
    seen = i_see(scene.objects)
    taken = {(s.kind, s.position) for s in scene.objects}
    if rng.random() < ABSENT_SHARE:
        kind, position = rng.choice([(k, p) for k in SHAPES for p in POSITIONS if (k, p) not in taken])
        return {"kind": kind, "position": position}, f"{seen} There is no {kind} at the {position}."
    shape = rng.choice(scene.objects)
    answer = f"{seen} The {shape.kind} at the {shape.position} is {shape.colour}."
    return {"kind": shape.kind, "position": shape.position}, answer


def _absent_name(rng: random.Random, scene: Scene) -> str:
    present = {s.name for s in scene.objects}
    return rng.choice([f"{c} {k}" for c in COLOURS for k in SHAPES if f"{c} {k}" not in present])


def where_answer(rng: random.Random, scene: Scene) -> tuple[dict, str]:
    """Where the <colour> <kind> is; now and then one that is not there."""
    seen = i_see(scene.objects)
    if rng.random() < ABSENT_SHARE:
        name = _absent_name(rng, scene)
        return {"name": name}, f"{seen} There is no {name}."
    shape = rng.choice(scene.objects)
    return {"name": shape.name}, f"{seen} The {shape.name} is at the {shape.position}."


def exists_answer(rng: random.Random, scene: Scene) -> tuple[dict, str]:
    """Half yes (a shape that is there, and where), half no."""
    seen = i_see(scene.objects)
    if rng.random() < 0.5:
        shape = rng.choice(scene.objects)
        name, answer = shape.name, f"{seen} Yes, there is {seen_phrase(shape)}."
    else:
        name = _absent_name(rng, scene)
        answer = f"{seen} No, there is no {name}."
    return {"name": name, "a_name": with_article(name)}, answer


def _shapes_at(video: VideoScene, frame: int) -> list[Shape]:
    """The shapes visible at a frame, each at the cell it occupies (a mid-move frame rounds to a cell)."""
    shapes = [Shape(p.shape.kind, p.shape.colour, p.shape.size, round(p.row), round(p.col)) for p in placed_at(video, frame)]
    return sorted(shapes, key=lambda s: (s.row, s.col))


def motion_answer(rng: random.Random, video: VideoScene) -> tuple[dict, str]:
    """About a shape that moves: what is seen at the start and at the end, where it is in each, the direction."""
    event = rng.choice([e for e in video.events if e.kind == "move"])
    name, start, end = event.shape.name, event.shape.position, event.destination
    answer = (
        f"At the start, {i_see(_shapes_at(video, 0))} At the end, {i_see(_shapes_at(video, video.num_frames - 1))} "
        f"The {name} is at the {start} at the start and at the {end} at the end, so it moves {event.direction}."
    )
    return {"name": name}, answer


def _lower_first(sentence: str) -> str:
    return sentence[0].lower() + sentence[1:]


def event_sentence(event: Event) -> str:
    """A move says where from, where to, then the direction; appear and disappear say where."""
    shape = event.shape
    if event.kind == "move":
        return f"The {shape.name} moves from the {shape.position} to the {event.destination}, so it moves {event.direction}."
    if event.kind == "appear":
        return f"{with_article(f'{shape.size} {shape.name}').capitalize()} appears at the {shape.position}."
    return f"The {shape.name} at the {shape.position} disappears."


def describe_video_answer(video: VideoScene) -> str:
    """The first frame described as a picture, then each event in time order."""
    first = describe_scene(video.scene)
    events = [f"Then {_lower_first(event_sentence(e))}" for e in video.events]
    return " ".join([f"At the start, {_lower_first(first)}", *events])
