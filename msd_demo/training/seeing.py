"""What a VLM's vision tower sees, apart from what its language model makes of it (issue 21).

The target names about one shape in six wrong. Is the information missing from the tower's image tokens, or is it
there and the language model misreads it? A probe answers that: a small MLP per grid cell reads the cell's patch
tokens of the frozen tower (concatenated, so nothing is averaged away), trained on training-renderer pictures of
every aspect ratio, then scored on held-out scenes, per renderer and aspect ratio as the robustness eval cuts them.
The probe's figures bound what any language model could read from these tokens; the robustness eval's "what was
seen" table is what the target does read.

    OMP_NUM_THREADS=1 python -m msd_demo.training.seeing --model models/target
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from msd_demo.inputs.square import image_processor_pads, pad_to_square
from msd_demo.training.evaluate import load_vlm
from msd_demo.training.robustness import ASPECTS
from msd_demo.training.vision import ATTRIBUTES, EMPTY, GRID, NO_LABEL, cell_labels
from msd_demo.world.robust import RENDERERS, draw_media
from msd_demo.world.variety import sample_varied_scene

SEEING_SEED = 330_033  # neither the build's seeds nor the robustness eval's
READ = ("kind", "colour")  # what the probe names per cell (size is not in any answer)
FEATURE_BATCH = 64


def cell_tokens(tower, pixels: torch.Tensor) -> torch.Tensor:
    """[B, 9, T * H]: each grid cell's patch tokens of the tower's last layer (as LLaVA's "default" strategy
    passes them on), concatenated in reading order. Needs a patch grid that the 3x3 cells divide."""
    if pixels.dim() == 5:  # LLaVA-NeXT: the first view of each picture is the whole picture, squashed
        pixels = pixels[:, 0]
    hidden = tower(pixel_values=pixels, output_hidden_states=True).hidden_states[-1][:, 1:]  # drop CLS
    batch, patches, width = hidden.shape
    side = round(patches**0.5)
    if side * side != patches or side % GRID:
        raise ValueError(f"the probe needs a square patch grid that {GRID}x{GRID} cells divide; this tower has {patches} patches")
    per_cell = side // GRID
    grid = hidden.reshape(batch, GRID, per_cell, GRID, per_cell, width).permute(0, 1, 3, 2, 4, 5)
    return grid.reshape(batch, GRID * GRID, per_cell * per_cell * width)


@torch.no_grad()
def seen(model, image_processor, rng: random.Random, count: int, split: str, renderer: str, aspect: float | None):
    """(cell tokens [N, 9, D], labels {kind, colour: [N, 9]}) of `count` pictures of `split`'s scenes, drawn by
    `renderer`, at `aspect` (None: any aspect ratio up to 4:1), preprocessed as the runtime does."""
    tokens, scenes = [], []
    pads = image_processor_pads(image_processor)
    for start in range(0, count, FEATURE_BATCH):
        batch = [sample_varied_scene(rng, split, aspect=aspect) for _ in range(min(FEATURE_BATCH, count - start))]
        pictures = [draw_media(rng, scene, renderer, None)[0] for scene in batch]
        pixels = image_processor([pad_to_square(p) if pads else p for p in pictures], return_tensors="pt")["pixel_values"]
        tokens.append(cell_tokens(model.model.vision_tower, pixels.to(model.device, model.dtype)).float().cpu())
        scenes += batch
    labels = cell_labels(scenes)
    return torch.cat(tokens), {name: labels[name] for name in READ}


class CellReader(nn.Module):
    """The probe: one MLP over a cell's tokens, a head per attribute."""

    def __init__(self, width: int, hidden: int = 512):
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU())
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, len(ATTRIBUTES[name])) for name in READ})

    def forward(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        body = self.body(tokens)
        return {name: head(body) for name, head in self.heads.items()}


def train_reader(tokens: torch.Tensor, labels: dict[str, torch.Tensor], steps: int, seed: int, batch: int = 512) -> CellReader:
    """Fits the probe on every cell of the given pictures (empty cells teach "empty"; their colour is ignored)."""
    torch.manual_seed(seed)
    cells = tokens.flatten(0, 1)
    flat = {name: value.flatten() for name, value in labels.items()}
    reader = CellReader(cells.shape[-1])
    optimizer = torch.optim.AdamW(reader.parameters(), lr=1e-3, weight_decay=0.01)
    for _ in range(steps):
        pick = torch.randint(0, len(cells), (batch,))
        logits = reader(cells[pick])
        loss = sum(nn.functional.cross_entropy(logits[n], flat[n][pick], ignore_index=NO_LABEL) for n in READ)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return reader.eval()


@torch.no_grad()
def score(reader: CellReader, tokens: torch.Tensor, labels: dict[str, torch.Tensor]) -> dict:
    """Per object (occupied cell): its shape and colour named right, or missed (called empty); invented: empty cells
    given a shape, per object; and which shapes were taken for which."""
    predicted = {name: value.argmax(-1) for name, value in reader(tokens).items()}
    kinds = ATTRIBUTES["kind"]
    empty = kinds.index(EMPTY)
    occupied = labels["kind"] != empty
    objects = int(occupied.sum())
    named = predicted["kind"][occupied]
    truth = labels["kind"][occupied]
    confusions = Counter(f"{kinds[t]} as {kinds[p]}" for t, p in zip(truth.tolist(), named.tolist()) if p not in (t, empty))
    return {
        "objects": objects,
        "shape_right": float((named == truth).float().mean()),
        "colour_right": float((predicted["colour"][occupied] == labels["colour"][occupied]).float().mean()),
        "missed": float((named == empty).float().mean()),
        "invented": int((predicted["kind"][~occupied] != empty).sum()) / max(objects, 1),
        "confusions": dict(confusions.most_common(4)),
    }


def measure(folder: Path, train_pictures: int, test_pictures: int, steps: int) -> dict:
    """The probe trained on `train_pictures` training pictures, scored on `test_pictures` held-out-scene pictures
    per renderer and aspect ratio."""
    processor, model = load_vlm(folder)
    rng = random.Random(SEEING_SEED)
    tokens, labels = seen(model, processor.image_processor, rng, train_pictures, "train", "train", None)
    reader = train_reader(tokens, labels, steps, SEEING_SEED)
    cells = {
        renderer: {name: score(reader, *seen(model, processor.image_processor, rng, test_pictures, "heldout", renderer, aspect))
                   for name, aspect in ASPECTS.items()}
        for renderer in RENDERERS
    }
    return {"model": str(folder), "train_pictures": train_pictures, "test_pictures": test_pictures, "steps": steps, "cells": cells}


def table(result: dict) -> str:
    """Markdown: a row per renderer and aspect ratio."""
    lines = ["| renderer | aspect | objects | shape right | colour right | missed | invented | shapes taken for others |",
             "|---|---|---|---|---|---|---|---|"]
    for renderer, by_aspect in result["cells"].items():
        for aspect, cell in by_aspect.items():
            confusions = ", ".join(f"{k} {n}" for k, n in cell["confusions"].items()) or "-"
            lines.append(f"| {renderer} | {aspect} | {cell['objects']} | {cell['shape_right']:.1%} | {cell['colour_right']:.1%} "
                         f"| {cell['missed']:.1%} | {cell['invented']:.1%} | {confusions} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m msd_demo.training.seeing", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/target"), help="a VLM folder (default: models/target)")
    parser.add_argument("--train-pictures", type=int, default=4096, help="training pictures the probe learns from (default: 4096)")
    parser.add_argument("--test-pictures", type=int, default=384, help="held-out pictures per renderer and aspect ratio (default: 384)")
    parser.add_argument("--steps", type=int, default=3000, help="the probe's training steps (default: 3000)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if min(args.train_pictures, args.test_pictures, args.steps) < 1:
        parser.error("--train-pictures, --test-pictures and --steps must be at least 1")
    if not (args.model / "config.json").exists():
        parser.error(f"--model {args.model}: no config.json there; give a VLM folder such as models/target")
    torch.set_num_threads(args.threads)
    started = time.process_time()
    result = measure(args.model, args.train_pictures, args.test_pictures, args.steps)
    result["cpu_minutes"] = round((time.process_time() - started) / 60, 1)
    result["command"] = "python -m msd_demo.training.seeing " + " ".join(argv if argv is not None else sys.argv[1:])
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
