import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402

from tests import tiny_models  # noqa: E402
from tests.launch import app_models  # noqa: E402


@pytest.fixture(scope="session")
def tokenizer():
    return tiny_models.build_tokenizer()


@pytest.fixture(scope="session")
def llava_dir(tmp_path_factory, tokenizer):
    return tiny_models.save_llava_models(tmp_path_factory.mktemp("llava-models"), tokenizer)


@pytest.fixture(scope="session")
def llava_lineup(llava_dir):
    from msd_demo.presets.lineup import load_lineup

    return load_lineup("tiny", str(llava_dir))


@pytest.fixture(scope="session")
def tiles_lineup(llava_dir, tmp_path_factory):
    """The same models, the target rewritten as LLaVA-NeXT (pictures read as tiles too: training/tiles.py)."""
    from msd_demo.presets.lineup import load_lineup

    return load_lineup("tiny", str(tiny_models.tiles_copy(llava_dir, tmp_path_factory.mktemp("tiles-models"))))


@pytest.fixture(scope="session")
def qwen2vl(tokenizer):
    return tiny_models.qwen2vl_models(tokenizer)


@pytest.fixture(scope="module")
def app_on_random_models(llava_dir):
    """The app's tiny preset reads the random tiny models instead of the shipped ones (fast, and any answer will do)."""
    with app_models(str(llava_dir)):
        yield


def pytest_collection_modifyitems(items):
    """A `sweep` (a test parametrized over many cases) runs its first case in the quick loop (-m "not slow") and
    every case in the full suite: its other cases are marked slow."""
    seen = set()
    for item in items:
        if item.get_closest_marker("sweep") is None:
            continue
        function = (item.module.__name__, item.originalname)
        if function in seen:
            item.add_marker(pytest.mark.slow)
        seen.add(function)
