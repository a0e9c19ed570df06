"""Scoring an answer by the facts it states, in the world's old answer forms and the grounded ones alike.

A right answer states what the world's exact answer states for the question's kind: every object (colour,
shape, place) of a description, the count and what was counted, the last sentence of a colour or where
answer, yes or no, the direction of a move, the fixed answer to an off-topic request.
"""

from __future__ import annotations

import re
from collections import Counter

from msd_demo.world import KINDS
from msd_demo.world.grounded import CHECK
from msd_demo.world.phrasings import OFF_TOPIC_ANSWER
from msd_demo.world.robust import OFF_TOPIC

_OBJECT = re.compile(r"There is an? (?:small|medium|large) (\w+) (\w+) at the ([a-z ]+?)\.")
_EVENTS = (  # (pattern, how its groups become (kind, shape, direction or place, destination))
    (re.compile(r"[Tt]he (\w+ \w+) moves (up|down|left|right) from the [a-z ]+? to the ([a-z ]+?)\."),
     lambda g: ("move", g[0], g[1], g[2])),
    (re.compile(r"[Tt]he (\w+ \w+) moves from the [a-z ]+? to the ([a-z ]+?), so it moves (\w+)\."),
     lambda g: ("move", g[0], g[2], g[1])),
    (re.compile(r"(?:small|medium|large) (\w+ \w+) appears at the ([a-z ]+?)\."), lambda g: ("appear", g[0], g[1], "")),
    (re.compile(r"[Tt]he (\w+ \w+) at the ([a-z ]+?) disappears"), lambda g: ("disappear", g[0], g[1], "")),
)


def stated_objects(answer: str) -> set[tuple[str, str, str]]:
    """(colour, shape, place) of every 'There is a <size> <colour> <shape> at the <place>.'"""
    return set(_OBJECT.findall(answer))


def stated_events(answer: str) -> list[tuple[str, str, str, str]]:
    """The events an answer states, in the order it states them, in either answer form."""
    found = [(m.start(), make(m.groups())) for pattern, make in _EVENTS for m in pattern.finditer(answer)]
    return [event for _, event in sorted(found)]


def count_claim(answer: str) -> tuple[str, str] | None:
    """The last 'there are <number> <things>' (old form: the only one; grounded form: the conclusion)."""
    claims = re.findall(r"[Tt]here (?:is|are) (\w+) ([a-z ]+?)[.:]", answer)
    return claims[-1] if claims else None


def last_sentence(answer: str) -> str:
    sentences = [s for s in re.split(r"(?<=\.)\s+", " ".join(answer.split())) if s]
    return sentences[-1] if sentences else ""


def yes_or_no(answer: str) -> str | None:
    match = re.search(r"\b(Yes|No),", answer)
    return match and match.group(1)


def direction(answer: str) -> str | None:
    moves = re.findall(r"moves (up|down|left|right)\b", answer)
    return moves[-1] if moves else None


def seen_lists(answer: str) -> list[str]:
    """The grounded answer's 'I see ...' sentences (one per picture, two for motion's first and last frame),
    without the checks written beside the shapes (grounded.check): what was seen, not what was decided."""
    return [CHECK.sub("", listed) for listed in re.findall(r"I see [^.]*\.", answer)]


def sees_right(expected: str, answer: str) -> bool | None:
    """Whether the answer lists what is there, shape for shape; None when the expected answer lists nothing."""
    lists = seen_lists(expected)
    return seen_lists(answer) == lists if lists else None


def each_list_right(expected: str, answer: str) -> list[bool]:
    """Per "I see ..." list of the expected answer, whether the answer's list in its place says the same (sees_right,
    list by list: which of several lists is seen wrong)."""
    said = seen_lists(answer)
    return [i < len(said) and said[i] == listed for i, listed in enumerate(seen_lists(expected))]


_LISTED = re.compile(r"\ban? (\w+) (\w+) at the ([a-z ]+?)(?=,| and |\.)")
SEEING_ERRORS = ("right", "shape", "colour", "shape and colour", "missed", "invented")


def listed_and_true(kind: str, expected: str, answer: str) -> list[tuple[set, dict]]:
    """Per list (motion has two, first with first; a description one): the true (colour, shape, place) objects and
    what the answer names at each place, {place: (colour, shape)}. [] for answers that list nothing."""
    if kind in ("describe", "describe_video"):
        pairs = [(stated_objects(expected), stated_objects(answer))]
    else:
        truths = seen_lists(expected)
        stated = seen_lists(answer) + [""] * len(truths)  # a list not given at all misses every object in it
        pairs = [({*_LISTED.findall(e)}, {*_LISTED.findall(a)}) for e, a in zip(truths, stated)]
    return [(truth, {place: (colour, shape) for colour, shape, place in said}) for truth, said in pairs]


def seeing_errors(lists: list[tuple[set, dict]]) -> dict[str, int]:
    """What the answer got wrong of what is there, object by object, matched by place: an object right, of the
    wrong shape, colour or both, not named at all (missed), or named at an empty place (invented). Reads the
    "I see ..." lists, or a description's objects, as `listed_and_true` parsed them; {} for answers that list
    nothing."""
    errors = dict.fromkeys(SEEING_ERRORS, 0)
    for truth, said in lists:
        for colour, shape, place in truth:
            if place not in said:
                errors["missed"] += 1
                continue
            wrong = [name for name, same in (("shape", said[place][1] == shape), ("colour", said[place][0] == colour)) if not same]
            errors[" and ".join(wrong) or "right"] += 1
        errors["invented"] += len(said.keys() - {place for _, _, place in truth})
    return errors if lists else {}


def shape_confusions(lists: list[tuple[set, dict]]) -> Counter[str]:
    """{"<true shape> as <named shape>": n} over the objects named at their place with another shape (the lists as
    `listed_and_true` parsed them)."""
    return Counter(
        f"{shape} as {said[place][1]}"
        for truth, said in lists
        for _, shape, place in truth
        if place in said and said[place][1] != shape
    )


def gives_off_topic_answer(answer: str) -> bool:
    """Whether the answer is the one fixed answer to a request outside the world."""
    return answer.strip() == OFF_TOPIC_ANSWER


def is_right(kind: str, expected: str, answer: str) -> bool:
    """Whether `answer` states what the world's `expected` answer states, for the question's kind."""
    if kind in ("describe", "describe_video"):
        same_objects = stated_objects(answer) == stated_objects(expected)
        return same_objects and (kind == "describe" or stated_events(answer) == stated_events(expected))
    if kind == "count":
        return count_claim(answer) == count_claim(expected)
    if kind in ("colour", "where"):
        return last_sentence(answer) == last_sentence(expected)
    if kind == "exists":
        return yes_or_no(answer) == yes_or_no(expected)
    if kind == "motion":
        return direction(answer) == direction(expected)
    if kind == OFF_TOPIC:
        return gives_off_topic_answer(answer)
    raise ValueError(f"unknown question kind {kind!r}; allowed: {', '.join((*KINDS, OFF_TOPIC))}")
