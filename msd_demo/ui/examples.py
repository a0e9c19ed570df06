"""The app's examples: rows of assets/examples.jsonl as [image, video, prompt] with paths made absolute."""

import json
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


def example_rows(examples_file: Path = ASSETS_DIR / "examples.jsonl") -> list[list[str | None]]:
    rows = []
    for line in examples_file.read_text().splitlines():
        if line.strip():
            example = json.loads(line)
            image, video = example.get("image"), example.get("video")
            rows.append([_absolute(examples_file, image), _absolute(examples_file, video), example["prompt"]])
    return rows


def _absolute(examples_file: Path, relative: str | None) -> str | None:
    return str(examples_file.parent / relative) if relative else None
