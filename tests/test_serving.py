"""The app under load and abuse, launched on loopback: a bounded queue, bad files, cancelled jobs, uploads removed."""

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from msd_demo.limits import LIMITS
from msd_demo.presets.lineup import load_lineup
from msd_demo.ui import handler
from msd_demo.ui.examples import ASSETS_DIR
from tests.forward_calls import recorded_forwards
from tests.launch import launched_app
from tests.test_media import broken_videos

pytestmark = pytest.mark.slow  # trains or serves for real: run by the full suite, not by -m 'not slow'

IMAGE = str(ASSETS_DIR / "shapes_1.png")
QUESTION = "Describe the picture in detail."
UPLOAD_RETENTION = (1, 2)  # seconds: check every second, delete what is older than two


@pytest.fixture(scope="module")
def served(llava_dir):
    """(app module, client); uploads kept only for seconds here, so that their removal can be seen."""
    from gradio_client import Client

    import app

    with launched_app(str(llava_dir), delete_uploads=UPLOAD_RETENTION) as url:
        yield app, Client(url, verbose=False)


def compare(client, media=IMAGE, **settings):
    from gradio_client import handle_file

    return client.submit(media=handle_file(media), prompt=QUESTION, api_name="/compare", **settings)


def test_20_simultaneous_jobs_all_complete_or_are_told_the_queue_is_full(served):
    from gradio_client.utils import QueueError

    _, client = served
    compare(client, max_new_tokens=4).result(timeout=60)  # warm-up, so the jobs below race each other only
    started = time.perf_counter()
    jobs = [compare(client, max_new_tokens=8) for _ in range(20)]
    outcomes = []
    for job in jobs:
        try:
            result = job.result(timeout=60)
            outcomes.append("complete" if result["finished"] and len(result["target"]["token_ids"]) == 8 else "wrong")
        except QueueError:
            outcomes.append("queue full")
    seconds = time.perf_counter() - started
    print(f"20 simultaneous jobs in {seconds:.1f} s: {outcomes.count('complete')} complete, "
          f"{outcomes.count('queue full')} told the queue is full (max queue {LIMITS.max_queue})")
    assert set(outcomes) <= {"complete", "queue full"} and outcomes.count("complete") >= LIMITS.max_queue
    assert compare(client, max_new_tokens=4).result(timeout=60)["finished"]


def test_a_full_queue_refuses_new_jobs_and_serving_goes_on(served):
    from gradio_client.utils import QueueError

    app, client = served
    queue = app.demo._queue
    original, queue.max_size = queue.max_size, 2
    try:
        jobs = [compare(client, max_new_tokens=200) for _ in range(8)]
        refused = 0
        for job in jobs:
            try:
                job.result(timeout=60)
            except QueueError:
                refused += 1
    finally:
        queue.max_size = original
    assert 1 <= refused <= 5  # one runs, two wait: the rest are refused as they arrive
    assert compare(client, max_new_tokens=4).result(timeout=60)["finished"]


def test_each_bad_file_gets_a_clear_error_and_the_app_serves_on(served, tmp_path):
    from gradio_client.exceptions import AppError

    _, client = served
    for path, message in broken_videos(tmp_path).values():
        with pytest.raises(AppError, match=message):
            compare(client, str(path), max_new_tokens=4).result(timeout=60)
    empty_image = tmp_path / "empty.png"
    empty_image.write_bytes(b"")
    with pytest.raises(AppError, match="empty"):
        compare(client, str(empty_image), max_new_tokens=4).result(timeout=60)
    assert compare(client, max_new_tokens=4).result(timeout=60)["finished"]


def test_an_upload_over_the_size_limit_is_refused_by_the_server(served, tmp_path):
    import httpx

    app, client = served
    limit = int(LIMITS.max_upload_megabytes * 2**20)
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.truncate(limit + 1)
    with pytest.raises(ValueError, match=f"exceeds the maximum file size of {limit} bytes"):  # the client checks first
        compare(client, str(big), max_new_tokens=4).result(timeout=60)
    with big.open("rb") as file:  # a client that does not check is refused by the server
        response = httpx.post(f"{client.src.rstrip('/')}/gradio_api/upload", files={"files": file}, timeout=60)
    assert response.status_code == 413 and f"maximum allowed size of {limit} bytes" in response.text
    assert compare(client, max_new_tokens=4).result(timeout=60)["finished"]


def test_a_cancelled_job_stops_computing_and_the_next_one_runs(served, llava_dir):
    _, client = served
    target = load_lineup("tiny", str(llava_dir)).target.model  # the app's own lineup (loaded once, cached)
    with recorded_forwards(target) as forwards:
        job = compare(client, max_new_tokens=1024)
        while not job.outputs():  # streaming: both runs are decoding
            time.sleep(0.01)
        cancelled_at = time.perf_counter()
        job.cancel()
        assert wait_until(lambda: handler.runs_in_progress() == 0, seconds=10), "the run did not end after the cancel"
        ended = len(forwards)
        last_forward_after_cancel = max(0.0, forwards[-1] - cancelled_at)
    assert len(forwards) == ended, "the engine computed after its run had ended"
    print(f"cancel -> last target forward: {last_forward_after_cancel * 1e3:.0f} ms")
    assert last_forward_after_cancel < 1.0
    assert compare(client, max_new_tokens=4).result(timeout=60)["finished"]


def test_uploads_arriving_during_a_clean_up_do_not_stop_it(served):
    """gradio's own clean-up ended for good on an upload that landed mid-sweep (msd_demo.ui.uploads)."""
    import httpx

    _, client = served
    upload_url = f"{client.src.rstrip('/')}/gradio_api/upload"

    def upload_for(seconds: float, name: str) -> list[Path]:
        paths, stop = [], time.perf_counter() + seconds
        with httpx.Client(timeout=30) as http:
            while not paths or time.perf_counter() < stop:
                number = len(paths)
                response = http.post(upload_url, files={"files": (f"{name}_{number}.txt", f"{name} {number}".encode())})
                paths += [Path(path) for path in response.json()]
        return paths

    with ThreadPoolExecutor(4) as pool:  # four users uploading at once, across several clean-ups
        uploaded = [path for paths in pool.map(upload_for, [4] * 4, "abcd") for path in paths]
    last = upload_for(0, "last")
    assert len(uploaded) > 100 and wait_until_gone(uploaded + last, seconds=15)


def wait_until_gone(paths: list[Path], seconds: float) -> bool:
    return wait_until(lambda: not any(path.exists() for path in paths), seconds)


def wait_until(condition, seconds: float) -> bool:
    """Poll condition until it holds (True) or the time is up (False)."""
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_uploads_live_in_temporary_storage_and_are_removed(served, tmp_path):
    from PIL import Image

    app, client = served
    assert app.DELETE_UPLOADS[1] == LIMITS.upload_retention_seconds  # the default: one hour
    image = tmp_path / "my_holiday_photo.png"
    Image.effect_noise((64, 48), 40).convert("RGB").save(image)  # unlike any example: examples stay cached
    compare(client, str(image), max_new_tokens=4).result(timeout=60)
    uploads = [Path(file) for files in app.demo.temp_file_sets for file in files if Path(file).name == image.name]
    assert uploads and all(path.exists() and path.is_relative_to(tempfile.gettempdir()) for path in uploads)
    assert wait_until_gone(uploads, seconds=10)


def test_no_public_link_is_made(served):
    app, _ = served
    assert app.LAUNCH_OPTIONS["share"] is False and app.demo.share_url is None
