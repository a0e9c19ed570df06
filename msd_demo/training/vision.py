"""Stage 0 of a VLM: teach its vision tower to see the world before the language model reads it.

Trained from scratch through the language loss alone, a tiny LLaVA settles into a blind plateau: early
image features are noise, so the LM learns to ignore them and the gradient then shrinks them further (we
measured exactly that: loss stuck at the blind level of ~0.5 nats/token, image features nearly constant).
Real VLMs start from a pretrained vision encoder; ours gets the equivalent here, supervised by the world
itself: from each of the 3x3 image tokens (one per grid cell) predict that cell's shape, colour and size
(or "empty"), and the background from their mean. The heads are thrown away; the stock CLIP tower stays.
"""

import random

import torch
from torch import nn
from tqdm import tqdm

from msd_demo.world import COLOURS, SHAPES, SIZES, render_scene
from msd_demo.world.scene import background_shades, sample_scene

EMPTY = "empty"
ATTRIBUTES = {"kind": (EMPTY, *SHAPES), "colour": (EMPTY, *COLOURS), "size": (EMPTY, *SIZES)}
BACKGROUNDS = tuple(sorted({name for name, _ in background_shades("train")}))


class CellProbe(nn.Module):
    """Linear heads on the vision tower's patch tokens: what is in each cell, and the background."""

    def __init__(self, hidden: int):
        super().__init__()
        self.cells = nn.ModuleDict({name: nn.Linear(hidden, len(values)) for name, values in ATTRIBUTES.items()})
        self.background = nn.Linear(hidden, len(BACKGROUNDS))

    def loss(self, patches: torch.Tensor, labels: dict[str, torch.Tensor]) -> tuple[torch.Tensor, float]:
        """patches: [B, 9, H]; labels[name]: [B, 9] (cells) and labels["background"]: [B]."""
        loss, correct = 0.0, []
        for name, head in self.cells.items():
            logits = head(patches)
            loss = loss + nn.functional.cross_entropy(logits.flatten(0, 1), labels[name].flatten())
            correct.append((logits.argmax(-1) == labels[name]).float().mean())
        background_logits = self.background(patches.mean(dim=1))
        loss = loss + nn.functional.cross_entropy(background_logits, labels["background"])
        return loss, float(torch.stack(correct).mean())


def scene_batch(rng: random.Random, image_processor, batch_size: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    scenes = [sample_scene(rng, "train") for _ in range(batch_size)]
    pixels = image_processor([render_scene(scene) for scene in scenes], return_tensors="pt")["pixel_values"]
    labels = {name: torch.zeros(batch_size, 9, dtype=torch.long) for name in ATTRIBUTES}
    for row, scene in enumerate(scenes):
        for shape in scene.objects:
            for name, values in ATTRIBUTES.items():
                labels[name][row, shape.cell] = values.index(getattr(shape, name))
    labels["background"] = torch.tensor([BACKGROUNDS.index(scene.background_name) for scene in scenes])
    return pixels, labels


def pretrain_vision(model, image_processor, steps: int, seed: int, batch_size: int = 64, learning_rate: float = 2e-3) -> float:
    """Trains model.model.vision_tower in place; returns the final cell accuracy (share of right attributes)."""
    tower = model.model.vision_tower
    probe = CellProbe(tower.config.hidden_size).to(model.device)
    optimizer = torch.optim.AdamW([*tower.parameters(), *probe.parameters()], lr=learning_rate)
    rng = random.Random(seed)
    accuracy = 0.0
    progress = tqdm(range(steps), desc="vision", dynamic_ncols=True)
    for _ in progress:
        pixels, labels = scene_batch(rng, image_processor, batch_size)
        hidden = tower(pixel_values=pixels.to(model.device), output_hidden_states=True).hidden_states[-1]
        loss, accuracy = probe.loss(hidden[:, 1:], {k: v.to(model.device) for k, v in labels.items()})  # drop CLS
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        progress.set_postfix(loss=f"{loss.item():.3f}", cell_accuracy=f"{accuracy:.3f}")
    return accuracy
