"""The app launched on loopback, on a free port, with a chosen models folder (for the API and browser tests)."""

import socket
from contextlib import contextmanager

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def launched_app(models_dir: str, delete_uploads: tuple[float, float] | None = None):
    """Yields the app's URL; the tiny preset reads MSD_MODELS_DIR at request time. delete_uploads: (every, age)
    in seconds for the upload clean-up, instead of the app's."""
    import app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MSD_MODELS_DIR", models_dir)
        _, url, _ = app.demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                                    quiet=True, **app.launch_options(delete_uploads or app.DELETE_UPLOADS))
        try:
            yield url
        finally:
            app.demo.close()
