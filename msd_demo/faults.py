"""Device faults that must not take the app down: running out of GPU memory becomes a clear error, and the
memory the failed run held is given back so the next run can have it."""

import gc

import torch

from msd_demo.errors import UserInputError

OUT_OF_MEMORY = (
    "the device ran out of memory for this request (its memory was released); "
    "try fewer max new tokens, a smaller gamma, a shorter video or a smaller image."
)


class OutOfDeviceMemory(UserInputError):
    """A request too big for the device: the person can fix it by asking for less."""


def release_device_memory() -> None:
    """Free what a failed run left behind: its tensors (once unreferenced) and the allocator's cached blocks."""
    gc.collect()
    torch.cuda.empty_cache()  # a no-op where CUDA was never initialised


def out_of_memory_error() -> OutOfDeviceMemory:
    """Call after leaving the `except torch.OutOfMemoryError` block: its traceback holds the failed run's
    frames, and so its tensors, until the block ends."""
    release_device_memory()
    return OutOfDeviceMemory(OUT_OF_MEMORY)
