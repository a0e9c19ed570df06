"""Every limit is refused with a message that names it; unusual valid media run end to end; the CLI answers bad
videos with one line (decord's own native log lines included)."""

import subprocess
import sys
from pathlib import Path

import pytest

from msd_demo.cli import main
from msd_demo.errors import UserInputError
from msd_demo.ui import handler
from tests.media_files import write_video
from tests.test_media import broken_videos

pytestmark = pytest.mark.usefixtures("app_on_random_models")

ROOT = Path(__file__).resolve().parent.parent
IMAGE = str(ROOT / "assets" / "shapes_1.png")
QUESTION = "Describe the picture in detail."




def decode(media: str, prompt: str = QUESTION, **settings):
    request = handler.prepare(media, prompt, handler.Settings(**settings))
    *_, last = handler.stream(handler.default_preset(), request)
    return last


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(max_new_tokens=1025), "max new tokens must be between 1 and 1024, got 1025"),
        (dict(gamma=17), r"gamma \(draft length\) must be between 1 and 16, got 17"),
        (dict(temperature=2.5), "temperature must be between 0 and 2, got 2.5"),
        (dict(temperature=-0.1), "temperature must be between 0 and 2, got -0.1"),
    ],
)
def test_settings_out_of_range_name_the_limit(settings, message):
    with pytest.raises(UserInputError, match=message):
        handler.prepare(IMAGE, QUESTION, handler.Settings(**settings))


def test_an_upload_over_the_size_limit_names_it(tmp_path):
    path = tmp_path / "big.png"
    with path.open("wb") as file:
        file.truncate(51 * 2**20)  # sparse: 51 MB on paper, nothing on disk
    with pytest.raises(UserInputError, match=r"big.png: 51.0 MB; uploads may be at most 50 MB"):
        handler.prepare(str(path), QUESTION, handler.Settings())


def test_prompt_length_is_limited_in_characters_then_in_tokens():
    with pytest.raises(UserInputError, match="the prompt has 2,001 characters; at most 2,000 are allowed"):
        handler.prepare(IMAGE, "a" * 2_001, handler.Settings())
    long_in_tokens = " ".join(["red circle, blue star?"] * 80)  # 1,839 characters, more than 512 tokens
    with pytest.raises(UserInputError, match=r"the prompt is [\d,]+ tokens long; at most 512 are allowed"):
        decode(IMAGE, long_in_tokens, max_new_tokens=4)


@pytest.mark.slow
def test_a_limit_is_changed_by_its_environment_variable(llava_dir):
    """Lowered below the defaults (gamma 4): the defaults follow, and the lowered limit is the one named."""
    environment = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "MSD_MAX_PROMPT_TOKENS": "3", "MSD_MAX_GAMMA": "2"}
    result = subprocess.run([sys.executable, "-m", "msd_demo", "run", "--image", IMAGE, "--models-dir", str(llava_dir),
                             "--prompt", QUESTION], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: the prompt is ") and result.stderr.endswith("tokens long; at most 3 are allowed.\n")


@pytest.mark.parametrize(
    "frames, width, height", [(1, 64, 48), (5, 33, 17), (3, 16, 16), (400, 64, 48)],
    ids=["one frame", "odd-sized", "narrow", "400 frames"],
)
def test_unusual_videos_run_end_to_end(tmp_path, frames, width, height):
    last = decode(str(write_video(tmp_path / "x.mp4", frames, width, height)), max_new_tokens=6)
    assert last.finished and last.comparison().identical and len(last.comparison().target.token_ids) == 6


@pytest.mark.sweep
@pytest.mark.parametrize("size", [(8, 8), (10_000, 8), (5, 2_000)], ids=str)
def test_unusual_images_run_end_to_end(tmp_path, size):
    from PIL import Image

    path = tmp_path / "x.png"
    Image.new("RGB", size, (20, 200, 40)).save(path)
    last = decode(str(path), max_new_tokens=6)
    assert last.finished and last.comparison().identical


def test_bad_videos_in_the_cli_give_one_line(tmp_path, capfd):
    for name, (path, message) in broken_videos(tmp_path).items():
        capfd.readouterr()
        assert main(["run", "--video", str(path), "--prompt", "Describe."]) == 2, name
        error = capfd.readouterr().err  # file descriptor 2: decord's native lines would show here
        assert error.startswith("error: ") and message in error and error.count("\n") == 1, (name, error)
