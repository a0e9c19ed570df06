"""The world's one canonical answer language.

Every fact has exactly one wording, and objects are always listed in reading order (row by row, left to
right), so an answer is a deterministic function of the scene: a trained model can be checked word for
word, and a drafter that cannot see the image must guess exactly the visual words.
"""

from __future__ import annotations

import re

from msd_demo.world.scene import BACKGROUNDS, COLOURS, EXTRA_BACKGROUNDS, SHAPES, SIZES, Scene, Shape
from msd_demo.world.video import DIRECTIONS, EVENT_KINDS, Event, VideoScene

_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Words of an answer that can only be known by looking: what is there, where, how many, how it moves, and
# the background. Function words whose form follows them ("is"/"are", "a"/"an") are left out, so a
# benchmark's "visual" share counts only the words that carry what was seen.
VISUAL_WORDS: frozenset[str] = frozenset(
    {*COLOURS, *SHAPES, *(f"{kind}s" for kind in SHAPES), *SIZES, *DIRECTIONS, *_NUMBER_WORDS}
    | {"top", "middle", "bottom", "left", "right", "center", "yes"}
    | {word for name in [*BACKGROUNDS, *EXTRA_BACKGROUNDS] for word in name.split()}
    | {"moves", "appears", "disappears"}
)


def is_visual_word(word: str) -> bool:
    """True for a word (any case, punctuation around it ignored) that names something seen."""
    return re.sub(r"[^a-z]", "", word.lower()) in VISUAL_WORDS


def number_word(count: int) -> str:
    return _NUMBER_WORDS[count]


def with_article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def plural(kind: str) -> str:
    return f"{kind}s"


def join_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def object_phrase(shape: Shape) -> str:
    """'a small red circle at the top left'."""
    return f"{with_article(f'{shape.size} {shape.colour} {shape.kind}')} at the {shape.position}"


def count_sentence(shapes: list[Shape], noun: str, nouns: str) -> str:
    """'There are two red shapes: a ... and a ....', 'There is one circle: ...', 'There are no circles.'"""
    if not shapes:
        return f"There are no {nouns}."
    verb, word = ("is", noun) if len(shapes) == 1 else ("are", nouns)
    listing = join_list([object_phrase(s) for s in shapes])
    return f"There {verb} {number_word(len(shapes))} {word}: {listing}."


def _scene_sentences(scene: Scene) -> list[str]:
    count = len(scene.objects)
    verb, noun = ("is", "shape") if count == 1 else ("are", "shapes")
    opening = f"there {verb} {number_word(count)} {noun} on {with_article(scene.background_name)} background."
    return [opening] + [f"There is {object_phrase(s)}." for s in scene.objects]


def describe_scene(scene: Scene) -> str:
    """Count and background, then one sentence per object in reading order."""
    first, *rest = _scene_sentences(scene)
    return " ".join([first[0].upper() + first[1:], *rest])


def _lower_first(sentence: str) -> str:
    return sentence[0].lower() + sentence[1:]


def event_sentence(event: Event) -> str:
    """'The red circle moves right from the middle left to the center.' and the like."""
    shape = event.shape
    if event.kind == "move":
        path = f"from the {shape.position} to the {event.destination}"
        return f"The {shape.name} moves {event.direction} {path}."
    if event.kind == "appear":
        return f"{with_article(f'{shape.size} {shape.name}').capitalize()} appears at the {shape.position}."
    if event.kind == "disappear":
        return f"The {shape.name} at the {shape.position} disappears."
    raise ValueError(f"unknown event kind {event.kind!r}; allowed: {', '.join(EVENT_KINDS)}")


def describe_video(video: VideoScene) -> str:
    """The first frame described as a picture, then each event in time order."""
    first, *rest = _scene_sentences(video.scene)
    events = [f"Then {_lower_first(event_sentence(e))}" for e in video.events]
    return " ".join([f"At the start, {first}", *rest, *events])
