"""The CLI contract (README): JSON fields, and one clear stderr line (no traceback) for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from msd_demo.cli import main

ROOT = Path(__file__).resolve().parent.parent
IMAGE = str(ROOT / "assets" / "shapes_1.png")


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "msd_demo", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def bad_files(tmp_path) -> dict[str, Path]:
    truncated = (ROOT / "assets" / "shapes_1.png").read_bytes()[:300]
    files = {"empty.png": b"", "text.png": b"hello, I am not a picture", "truncated.png": truncated}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return {name: tmp_path / name for name in files} | {"missing.png": tmp_path / "missing.png"}


@pytest.mark.slow
def test_run_json_follows_the_contract(llava_dir):
    result = run_cli("run", "--image", IMAGE, "--prompt", "Describe the picture.", "--models-dir", str(llava_dir),
                     "--max-new-tokens", "12", "--gamma", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    output = json.loads(result.stdout)
    for run in ("target", "speculative"):
        assert {"token_ids", "text", "prefill_seconds", "decode_seconds", "tokens_per_second"} <= set(output[run])
    step = output["speculative"]["steps"][0]
    assert {"drafted", "accepted", "emitted", "draft_seconds", "verify_seconds"} <= set(step)
    assert output["identical"] is True
    assert output["speculative"]["token_ids"] == output["target"]["token_ids"]
    assert {"speedup", "mean_accepted_tokens", "acceptance_rate"} <= set(output)


@pytest.mark.slow
def test_bad_input_exits_with_one_line_and_no_traceback(tmp_path):
    result = run_cli("run", "--image", str(tmp_path / "missing.png"), "--prompt", "Hi")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no such file" in result.stderr


@pytest.mark.parametrize("name", ["empty.png", "text.png", "truncated.png", "missing.png"])
def test_bad_images(tmp_path, capsys, name):
    assert main(["run", "--image", str(bad_files(tmp_path)[name]), "--prompt", "Describe."]) != 0
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--prompt", "   "], "prompt is empty"),
        (["--prompt", "Hi", "--gamma", "0"], "gamma"),
        (["--prompt", "Hi", "--temperature", "9"], "temperature"),
        (["--prompt", "Hi", "--max-new-tokens", "0"], "max new tokens"),
        (["--prompt", "Hi", "--drafter", "nope"], "unknown drafter"),
        (["--prompt", "Hi", "--preset", "nope"], "unknown preset"),
        (["--prompt", "Hi", "--gamma", "four"], "invalid int value"),
    ],
)
def test_bad_settings(capsys, llava_dir, arguments, message):
    assert main(["run", "--image", IMAGE, "--models-dir", str(llava_dir), *arguments]) != 0
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_missing_models_are_a_clear_error(tmp_path, capsys):
    assert main(["run", "--image", IMAGE, "--prompt", "Hi", "--models-dir", str(tmp_path)]) != 0
    assert "tiny models are missing" in capsys.readouterr().err


def test_bench_writes_the_contract_fields(tmp_path, llava_dir):
    suite = tmp_path / "suite.jsonl"
    suite.write_text(json.dumps({"image": IMAGE, "prompt": "Describe the picture.", "extra": 1}) + "\n")
    out = tmp_path / "bench.json"
    assert main(["bench", "--models-dir", str(llava_dir), "--suite", str(suite), "--repeats", "2",
                 "--max-new-tokens", "10", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"tokens_per_second", "hf_generate_tokens_per_second"} <= set(result["baseline"])
    assert set(result["drafters"]) == {"model", "text-only", "prompt-lookup", "msd", "msd-no-decoupling", "vispec", "flash"}
    assert result["drafters"]["flash"]["tokens_per_pass"] > 1.0 == result["drafters"]["vispec"]["tokens_per_pass"]
    for summary in result["drafters"].values():
        assert {"speedup", "mean_accepted_tokens", "acceptance_rate", "identical", "theoretical_speedup"} <= set(summary)
        assert summary["identical"] is True
        assert set(summary["by_media"]) == {"image"} and summary["by_media"]["image"]["identical"] is True
        assert len(summary["speedup_by_repeat"]) == 2 and min(summary["speedup_by_repeat"]) > 0  # one per pass
        rows = summary["rows"]  # one per row and pass, so "no row below 1.0x" can be checked from the JSON
        assert [(r["row"], r["repeat"]) for r in rows] == [(IMAGE, 0), (IMAGE, 1)]
        assert summary["slowest_row_speedup"] == min(r["speedup"] for r in rows) > 0
        assert all(r["identical"] and r["new_tokens"] > 0 and r["tau"] >= 1.0 for r in rows)
    assert "hf_assisted_speedup" in result["drafters"]["prompt-lookup"]


def test_bench_refuses_a_broken_suite(tmp_path, capsys, llava_dir):
    suite = tmp_path / "suite.jsonl"
    suite.write_text('{"prompt": "no media"}\n')
    assert main(["bench", "--models-dir", str(llava_dir), "--suite", str(suite), "--json", str(tmp_path / "o.json")]) != 0
    assert "expected" in capsys.readouterr().err
