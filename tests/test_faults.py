"""GPU faults and long service: out of memory becomes a message and the app recovers; memory does not grow."""

import gc
import os
from pathlib import Path

import gradio as gr
import pytest
import torch

from msd_demo.cli import main
from msd_demo.ui import handler, wiring
from msd_demo.ui.examples import ASSETS_DIR

pytestmark = pytest.mark.usefixtures("app_on_random_models")

IMAGE = str(ASSETS_DIR / "shapes_1.png")
VIDEO = str(ASSETS_DIR / "video_1.mp4")
QUESTION = "Describe the picture in detail."
RSS_GROWTH_BOUND_MB = 50  # over 100 runs after warm-up; a leak of one KV cache or one decoded video a run exceeds it




@pytest.fixture()
def out_of_memory_after(monkeypatch):
    """The target's forward raises CUDA's out-of-memory error from its nth call on; torch.cuda.empty_cache is
    recorded. Yields a function that arms it."""
    emptied = []
    empty_cache = torch.cuda.empty_cache
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(True) or empty_cache())
    model = handler.lineup_for(handler.default_preset()).target.model

    def arm(calls: int):
        forward, count = model.forward, [0]

        def failing_forward(*args, **kwargs):
            count[0] += 1
            if count[0] >= calls:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
            return forward(*args, **kwargs)

        monkeypatch.setattr(model, "forward", failing_forward)
        return emptied

    yield arm
    monkeypatch.undo()


def final_ui_stats(outputs) -> str:
    return outputs[-1][2]


@pytest.mark.sweep
@pytest.mark.parametrize("fails_at_call", [1, 12], ids=["in prefill", "mid-decoding"])
def test_out_of_memory_in_the_app_is_a_message_and_the_next_run_works(out_of_memory_after, monkeypatch, fails_at_call):
    arguments = (None, IMAGE, QUESTION, handler.default_preset(), "model", 3, 0.0, 64, 0)
    emptied = out_of_memory_after(fails_at_call)
    assert "ran out of memory" in final_ui_stats(list(wiring.run_in_ui(*arguments)))
    assert emptied, "the CUDA cache was not emptied"
    with pytest.raises(gr.Error, match="ran out of memory"):
        list(wiring.compare_api(IMAGE, QUESTION, "model", 3, 0.0, 64))
    monkeypatch.undo()
    assert 'data-finished="true"' in final_ui_stats(list(wiring.run_in_ui(*arguments)))


def test_out_of_memory_in_the_cli_is_one_line(out_of_memory_after, capfd, llava_dir):
    out_of_memory_after(3)
    assert main(["run", "--image", IMAGE, "--prompt", QUESTION, "--models-dir", str(llava_dir)]) == 1
    error = capfd.readouterr().err
    assert error.startswith("error: the device ran out of memory") and error.count("\n") == 1


def resident_megabytes() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads the resident set size from /proc (Linux)")
@pytest.mark.slow
def test_memory_does_not_grow_over_100_runs():
    def one_run(index: int):
        media = VIDEO if index % 4 == 0 else IMAGE  # a video every fourth run: decoders must not leak either
        request = handler.prepare(media, QUESTION, handler.Settings(drafter=("model", "text-only")[index % 2], max_new_tokens=8))
        *_, last = handler.stream(handler.default_preset(), request)
        assert last.finished

    for index in range(10):  # warm-up: models loaded, allocator and caches at their working size
        one_run(index)
    gc.collect()
    before = resident_megabytes()
    for index in range(100):
        one_run(index)
    gc.collect()
    growth = resident_megabytes() - before
    print(f"RSS after warm-up {before:.0f} MB, growth over 100 runs {growth:+.1f} MB (bound {RSS_GROWTH_BOUND_MB} MB)")
    assert growth < RSS_GROWTH_BOUND_MB
