"""Each browser session's replay, kept on the server under a lock per session.

Not in a gr.State: gradio hands an event the state the browser held when it sent the event, so a timer tick
sent just before a click on Pause would write "playing" back over the pause. Here every replay event reads
and writes the session's replay while holding its lock, so the last event to finish saw all earlier ones.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from msd_demo.ui.replay import Replay


@dataclass
class Slot:
    replay: Replay | None = None
    player: int = 0  # which Play is playing: a newer one ends the older one's loop
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


_lock = threading.Lock()
_slots: dict[str, Slot] = {}


@contextmanager
def held(session: str | None) -> Iterator[Slot]:
    """The session's slot, its lock held: read and replace slot.replay inside."""
    with _lock:
        slot = _slots.setdefault(session or "", Slot())
    with slot.lock:
        yield slot


def keep(session: str | None, replay: Replay | None) -> None:
    with held(session) as slot:
        slot.replay = replay


def forget(session: str | None) -> None:
    """The session ended (its tab closed): its recording goes."""
    with _lock:
        _slots.pop(session or "", None)


def sessions() -> int:
    with _lock:
        return len(_slots)
