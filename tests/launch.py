"""The app launched on loopback, on a free port, with a chosen models folder (for the API and browser tests)."""

import socket
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def launched_app(models_dir: str, delete_uploads: tuple[float, float] | None = None):
    """Yields the app's URL; the app as started with MSD_MODELS_DIR=models_dir. delete_uploads: (every, age)
    in seconds for the upload clean-up, instead of the app's."""
    import app

    with app_models(models_dir):
        _, url, _ = app.demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                                    quiet=True, **app.launch_options(delete_uploads or app.DELETE_UPLOADS))
        try:
            yield url
        finally:
            app.demo.close()


@contextmanager
def app_models(models_dir: str):
    """The app as started with MSD_MODELS_DIR=models_dir, for the block; then as it was."""
    from msd_demo.startup import read_environment
    from msd_demo.ui import handler

    before = handler.current_startup()
    handler.configure(read_environment({"MSD_MODELS_DIR": models_dir}))
    try:
        yield
    finally:
        handler.configure(before)
