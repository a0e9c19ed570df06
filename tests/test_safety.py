"""Safe defaults: only the presets' models (or local folders), never a model's own code, no secret in any output."""

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msd_demo.cli import main
from msd_demo.errors import UserInputError
from msd_demo.loading.models import load_model
from msd_demo.loading.sources import check_model_source
from msd_demo.presets.catalog import PRESETS
from msd_demo.ui import handler, wiring

ROOT = Path(__file__).resolve().parent.parent
IMAGE = str(ROOT / "assets" / "shapes_1.png")
FAKE_TOKEN = "hf_FakeTokenValueForTheTests1234567890"
CUSTOM_CODE = """
from pathlib import Path
Path(__file__).with_name("code-was-run").touch()
from transformers import LlavaConfig, LlavaForConditionalGeneration
class CustomConfig(LlavaConfig):
    model_type = "custom-llava"
class CustomModel(LlavaForConditionalGeneration):
    config_class = CustomConfig
"""


def test_a_hub_model_outside_the_presets_is_refused_unless_allowed(monkeypatch):
    with pytest.raises(UserInputError, match="neither a local folder nor one of the presets' .*MSD_ALLOW_ANY_MODEL=1"):
        load_model("someone/unknown-vlm", multimodal=True)
    monkeypatch.setenv("MSD_ALLOW_ANY_MODEL", "1")
    with pytest.raises(UserInputError, match="could not download someone/unknown-vlm: the hub is unreachable"):  # allowed, then offline
        load_model("someone/unknown-vlm", multimodal=True)


def test_every_preset_model_and_local_folders_are_allowed(llava_dir):
    for preset in PRESETS.values():
        for source in (preset.target, *preset.draft_models.values()):
            check_model_source(source)
    check_model_source(llava_dir / "target")  # --models-dir / MSD_MODELS_DIR: the operator's own folder


def model_with_custom_code(llava_dir, folder: Path, model_type: str | None) -> Path:
    shutil.copytree(llava_dir / "target", folder)
    (folder / "custom_code.py").write_text(CUSTOM_CODE)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "custom_code.CustomConfig", "AutoModelForImageTextToText": "custom_code.CustomModel"}
    config["model_type"] = model_type or config["model_type"]
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_models_own_code_is_never_run(llava_dir, tmp_path):
    known = model_with_custom_code(llava_dir, tmp_path / "known", None)
    assert type(load_model(known, multimodal=True).model).__name__ == "LlavaForConditionalGeneration"
    unknown = model_with_custom_code(llava_dir, tmp_path / "unknown", "custom-llava")
    with pytest.raises(UserInputError, match="needs to run code of its own"):
        load_model(unknown, multimodal=True)
    assert not (known / "code-was-run").exists() and not (unknown / "code-was-run").exists()


@pytest.mark.slow
def test_no_secret_reaches_the_cli_output(llava_dir, tmp_path):
    environment = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_TOKEN": FAKE_TOKEN, "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "msd_demo", "run", "--image", IMAGE, "--prompt", "Describe.",
                             "--models-dir", str(llava_dir), "--max-new-tokens", "4", "--json"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert FAKE_TOKEN not in result.stdout + result.stderr


def test_an_error_that_quotes_a_secret_is_shown_and_logged_without_it(llava_dir, app_on_random_models, monkeypatch, capfd,
                                                                      caplog):
    """An exception's message may quote a header or a URL; what the person and the log see has *** instead."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    model = handler.lineup_for(handler.default_preset()).target.model

    def leaking_forward(*args, **kwargs):
        raise RuntimeError(f"request failed with header Authorization: Bearer {FAKE_TOKEN}")

    monkeypatch.setattr(model, "forward", leaking_forward)
    assert main(["run", "--image", IMAGE, "--prompt", "Describe.", "--models-dir", str(llava_dir)]) == 1
    with caplog.at_level(logging.ERROR):
        outputs = list(wiring.run_in_ui(None, IMAGE, "Describe.", handler.default_preset(), "model", 3, 0.0, 8, 0))
    shown = capfd.readouterr().err + outputs[-1][2] + caplog.text
    assert "Bearer ***" in shown and FAKE_TOKEN not in shown
