"""Stop requests from the UI, by browser session: the Stop button sets one, the running handler checks it
between engine steps (handler.stream), so a stopped run computes at most the step already under way.

Gradio's own cancel closes the handler's generator too, but only once the step batch in progress (up to the
panel refresh interval) is done; this is what makes Stop take effect within one step.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running: dict[str, threading.Event] = {}


@contextmanager
def stop_signal(session: str | None) -> Iterator[threading.Event]:
    """A fresh signal for one run of this session, forgotten when the run ends."""
    signal = threading.Event()
    if session is None:
        yield signal
        return
    with _lock:
        _running[session] = signal
    try:
        yield signal
    finally:
        with _lock:
            if _running.get(session) is signal:
                del _running[session]


def request_stop(session: str | None) -> bool:
    """Stop this session's running run, if it has one; True when there was one."""
    with _lock:
        signal = _running.get(session) if session is not None else None
    if signal is not None:
        signal.set()
    return signal is not None


def running_sessions() -> int:
    with _lock:
        return len(_running)
