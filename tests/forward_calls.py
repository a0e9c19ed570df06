"""Counting a model's forward passes (a torch forward hook), to see when computation really stops."""

import time
from contextlib import contextmanager


@contextmanager
def recorded_forwards(model):
    """Yields a list that gets the perf_counter time of each forward pass of model while the block runs."""
    times: list[float] = []
    hook = model.register_forward_hook(lambda *_: times.append(time.perf_counter()))
    try:
        yield times
    finally:
        hook.remove()
