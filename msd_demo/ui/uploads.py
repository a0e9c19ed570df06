"""Uploads deleted once they are older than the retention time, and all of them when the server stops.

gradio's own clean-up (`Blocks(delete_cache=...)`) walks its live sets of temporary files from a worker thread.
An upload that lands during a walk raises "Set changed size during iteration", which ends the clean-up task for
good: no upload is deleted after that, silently (four threads of uploads did it within 3 s). This clean-up walks
copies of the sets and keeps going after any error, and is installed as the server's lifespan instead.
"""

import asyncio
import logging
import time
from contextlib import asynccontextmanager, suppress
from pathlib import Path

log = logging.getLogger(__name__)


def delete_old_uploads(blocks, age_seconds: float | None) -> None:
    """Deletes the blocks' temporary files created more than age_seconds ago (all of them for None), except
    those a component keeps (cached examples)."""
    kept = set().union(*(getattr(component, "keep_in_cache", set()) for component in blocks.blocks.values()))
    cutoff = time.time() - age_seconds if age_seconds is not None else float("inf")
    for files in list(blocks.temp_file_sets):
        # list() copies a set in one step under the GIL, so uploads may be added to `files` meanwhile.
        old = {file for file in list(files) if file not in kept and _created_before(Path(file), cutoff)}
        for file in old:
            Path(file).unlink(missing_ok=True)
        files.difference_update(old)


def _created_before(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_ctime < cutoff
    except FileNotFoundError:
        return True  # already gone: dropped from the set


def upload_cleanup(every_seconds: float, age_seconds: float):
    """A FastAPI lifespan (launch(app_kwargs={"lifespan": ...})) that runs the clean-up every every_seconds."""

    @asynccontextmanager
    async def lifespan(app):
        blocks = app.get_blocks()
        task = asyncio.create_task(_clean_up_forever(blocks, every_seconds, age_seconds))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            delete_old_uploads(blocks, None)

    return lifespan


async def _clean_up_forever(blocks, every_seconds: float, age_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await asyncio.to_thread(delete_old_uploads, blocks, age_seconds)
        except Exception:  # a file that cannot be deleted now must not end the clean-up of all later uploads
            log.exception("upload clean-up failed; trying again in %s s", every_seconds)
