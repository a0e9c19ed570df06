"""ZeroGPU: on a ZeroGPU Space (SPACES_ZERO_GPU set) a GPU is attached only while a decorated call runs.

Elsewhere the decorator is a no-op and `spaces` is never imported (it patches torch and gradio on import).
"""

import os
from collections.abc import Callable

from msd_demo.limits import LIMITS

ON_ZERO_GPU = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
BASE_SECONDS = 30  # model prefills and the untimed warm-up
SECONDS_PER_NEW_TOKEN = 0.25  # both runs together, with headroom for slow hub models

if ON_ZERO_GPU:
    import spaces  # noqa: F401  imported early (app.py imports this module first): ZeroGPU patches torch


def gpu_seconds(max_new_tokens: int) -> int:
    """How long to hold the GPU: grows with the number of tokens to decode (twice: target only, speculative)."""
    tokens = min(max(int(max_new_tokens), 1), LIMITS.max_new_tokens)
    return int(BASE_SECONDS + SECONDS_PER_NEW_TOKEN * tokens)


def on_gpu(duration: Callable[..., int]) -> Callable[[Callable], Callable]:
    """spaces.GPU(duration=...) on ZeroGPU; duration gets the decorated function's own arguments."""

    def decorate(function: Callable) -> Callable:
        if not ON_ZERO_GPU:
            return function
        import spaces

        return spaces.GPU(function, duration=duration)

    return decorate
