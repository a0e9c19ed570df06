"""Timing what the device computes: wall-clock with every GPU synchronised on both sides."""

import time
from contextlib import contextmanager

import torch


def synchronize(device: torch.device) -> None:
    """Wait for every GPU: a model split over several (device_map) computes on all of them."""
    if device.type == "cuda":
        for index in range(torch.cuda.device_count()):
            torch.cuda.synchronize(index)


@contextmanager
def stopwatch(device: torch.device):
    """Wall-clock seconds of the block with the device synchronised on both sides; read `.seconds` after."""
    timer = _Timer()
    synchronize(device)
    start = time.perf_counter()
    yield timer
    synchronize(device)
    timer.seconds = time.perf_counter() - start


class _Timer:
    seconds: float = 0.0
