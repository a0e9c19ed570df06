"""Draft heads on the target's features: `msd` and its ablations (MSD, Lin et al. 2025).

1. Feature pools. The target reads world samples (teacher forcing on the exact answers); per position we
   keep its last-layer feature h_i, its first-layer input (the visual embeddings at image positions) and
   its own greedy choice argmax p(. | x_<=i). The heads learn the target, not the data. One pool holds
   text-only instruction data (the scene written out), the other images and videos with their questions.
2. Each head trains on the pools by its recipe. msd: stage one on text only (language modelling), then
   stage two where the chance of a multimodal sample rises linearly from 0 to 1. Each ablation changes one
   thing: no decoupling, multimodal data only, or stage one only.
3. Training matches drafting: after the pass on the target's true features, `depth - 1` more passes feed
   the head's own predictions g in place of h at answer positions, as it must while drafting.
"""

import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import AutoModelForImageTextToText

from msd_demo.engine.drafters.head_model import DraftHead, HeadConfig
from msd_demo.training.data import IGNORE, Sample, collate
from msd_demo.training.loop import Cost, Schedule, run_steps

RAMP_STEPS = 500  # stage two of msd: the multimodal share rises linearly from 0 to 1 over these steps
# Passes per training step: the true features, then the head's own predictions, as deep as the default draft
# (gamma 4). Session 36: msd warm-started by the heads stage (550 steps) at 4 passes instead of 2 drafted the
# held-out pool's third and fourth tokens right 0.959 / 0.958 of the time instead of 0.944 / 0.940, and the bench's
# tau rose 4.20 -> 4.38 (videos 4.05 -> 4.25), the same tokens; a step costs about twice as much.
DEPTH = 4


@dataclass(frozen=True)
class HeadRecipe:
    name: str
    decoupled: bool
    text_stage: bool  # stage one: text-only samples (language modelling)
    multimodal_stage: bool  # stage two: multimodal samples
    ramp: bool  # stage two opens with RAMP_STEPS where the multimodal share rises 0 -> 1 (else it is 1 throughout)
    purpose: str
    visual_feature: bool = False  # decoupled visual positions also read the target's feature (HeadConfig)

    def steps(self, text_steps: int, multimodal_steps: int) -> int:
        """Stage two is lengthened by the ramp's text half: every recipe with it sees as many multimodal samples."""
        stage_two = multimodal_steps + (RAMP_STEPS // 2 if self.ramp else 0)
        return text_steps * self.text_stage + stage_two * self.multimodal_stage

    def continued(self) -> "HeadRecipe":
        """What a warm start trains: the head has been through the recipe once, so a recipe with stage two goes on
        with stage two at its final multimodal share, without stage one and the ramp again (which put most of msd's
        550 warm-start steps on text until session 37)."""
        return replace(self, text_stage=False, ramp=False) if self.multimodal_stage else self

    def multimodal_share(self, step: int, text_steps: int) -> float:
        stage_two_step = step - text_steps * self.text_stage
        if stage_two_step < 0 or not self.multimodal_stage:
            return 0.0
        if not self.ramp:
            return 1.0
        return min(1.0, (stage_two_step + 1) / RAMP_STEPS)


# Ablations remove one principle each and keep the rest, stage lengths included.
RECIPES = (
    HeadRecipe("msd", True, True, True, True, "MSD: decoupled inputs; stage one on text, then multimodal data mixed in", True),
    HeadRecipe("msd-no-decoupling", False, True, True, True, "ablation (a): visual positions fused like text tokens"),
    HeadRecipe("msd-multimodal-only", True, False, True, False, "ablation (b): stage two's multimodal data only, no text stage", True),
    HeadRecipe("msd-text-stage-only", True, True, False, False, "ablation (c): stage one only, text data", True),
    HeadRecipe("msd-visual-embedding-only", True, True, True, True,
               "ablation (d): decoupled visual positions read the visual embedding alone, not the target's feature"),
)


@dataclass
class FeatureSample:
    input_ids: torch.Tensor  # [L]
    hidden: torch.Tensor  # [L, d] fp16, the target's last-layer features h
    embeds: torch.Tensor | None  # [L, d] fp16, the target's first-layer inputs; None for text-only samples
    visual_mask: torch.Tensor  # [L] bool
    choices: torch.Tensor  # [L] the target's greedy next token at each position
    answer: torch.Tensor  # [L] bool, token i belongs to the answer


@torch.no_grad()
def feature_pool(target, batches: Iterator[list[Sample]], count: int, pad_id: int, label: str) -> list[FeatureSample]:
    pool: list[FeatureSample] = []
    image_token_id = target.config.image_token_id
    device = next(target.parameters()).device
    with tqdm(total=count, desc=label, dynamic_ncols=True) as progress:
        while len(pool) < count:
            batch = collate(next(batches), pad_id)
            inputs = {name: value.to(device) for name, value in batch.items() if name != "labels"}
            output = target(**inputs, output_hidden_states=True)
            hidden, embeds = output.hidden_states[-1].cpu(), output.hidden_states[0].cpu()
            choices = output.logits.argmax(-1).cpu()
            for row, length in enumerate(batch["attention_mask"].sum(1).tolist()):
                ids = batch["input_ids"][row, :length]
                visual = ids == image_token_id
                pool.append(FeatureSample(
                    ids, hidden[row, :length].half(), embeds[row, :length].half() if visual.any() else None,
                    visual, choices[row, :length], batch["labels"][row, :length] != IGNORE,
                ))
            progress.update(len(batch["input_ids"]))
    return pool[:count]


def head_batch(samples: list[FeatureSample], device) -> dict[str, torch.Tensor]:
    """Right-padded to the longest sample; `valid` marks real positions."""
    size, length, d = len(samples), max(len(s.input_ids) for s in samples), samples[0].hidden.shape[1]
    batch = {
        "input_ids": torch.zeros(size, length, dtype=torch.long), "choices": torch.zeros(size, length, dtype=torch.long),
        "hidden": torch.zeros(size, length, d), "embeds": torch.zeros(size, length, d),
        "visual_mask": torch.zeros(size, length, dtype=torch.bool), "answer": torch.zeros(size, length, dtype=torch.bool),
        "valid": torch.zeros(size, length, dtype=torch.bool),
    }
    for row, s in enumerate(samples):
        n = len(s.input_ids)
        batch["input_ids"][row, :n], batch["choices"][row, :n], batch["hidden"][row, :n] = s.input_ids, s.choices, s.hidden.float()
        batch["visual_mask"][row, :n], batch["answer"][row, :n], batch["valid"][row, :n] = s.visual_mask, s.answer, True
        if s.embeds is not None:
            batch["embeds"][row, :n] = s.embeds.float()
    return {name: value.to(device) for name, value in batch.items()}


class HeadObjective(torch.nn.Module):
    """The head with the target's frozen embedding and LM head; the loss over `depth` drafting passes."""

    def __init__(self, head: DraftHead, embed, lm_head, depth: int = DEPTH):
        super().__init__()
        self.head, self.embed, self.lm_head, self.depth = head, embed, lm_head, depth

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, list[float]]:
        """Returns the loss and, per pass, the share of answer tokens where q's top choice is the target's."""
        tokens = self.embed(batch["input_ids"])
        true_previous = _shift_right(batch["hidden"])  # h_{i-1}: what predicted token i
        drafted = batch["answer"] & _shift_right(batch["answer"])  # while drafting, h_{i-1} is the head's own g
        predicts_answer = _shift_left(batch["answer"])  # position i predicts token i + 1 of the answer
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        previous, loss, accuracies = true_previous, 0.0, []
        for _ in range(self.depth):
            g = self.head(self.head.inputs(tokens, previous, batch["embeds"], batch["visual_mask"]), positions)
            logits = self.lm_head(g[predicts_answer])
            choices = batch["choices"][predicts_answer]
            loss = loss + F.cross_entropy(logits, choices) + F.smooth_l1_loss(g[batch["valid"]], batch["hidden"][batch["valid"]])
            accuracies.append(float((logits.argmax(-1) == choices).float().mean()))
            previous = torch.where(drafted[..., None], _shift_right(g), true_previous)
        return loss / self.depth, accuracies


def _shift_right(x: torch.Tensor) -> torch.Tensor:
    """Along the sequence (dim 1): row i holds what was at i - 1; zeros (False) at 0."""
    return torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)


def _shift_left(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x[:, 1:], torch.zeros_like(x[:, :1])], dim=1)


def train_head(
    recipe: HeadRecipe, objective: HeadObjective, pools: dict[str, list[FeatureSample]], schedule: Schedule,
    text_steps: int, batch_size: int, seed: int, checkpoint_dir: Path,
) -> Cost:
    """Resumable like every stage: the multimodal share follows the step count restored from the checkpoint."""
    head = objective.head
    rng = random.Random(seed)
    torch.manual_seed(seed)
    device = next(head.parameters()).device

    def step(cost: Cost) -> tuple[torch.Tensor, dict]:
        share = recipe.multimodal_share(cost.steps, text_steps)
        samples = [rng.choice(pools["multimodal"] if rng.random() < share else pools["text"]) for _ in range(batch_size)]
        loss, accuracies = objective(head_batch(samples, device))
        return loss, {"top1": f"{accuracies[0]:.3f}", "multimodal": f"{share:.2f}"}

    return run_steps(head, step, rng, schedule, checkpoint_dir, recipe.name)


@torch.no_grad()
def held_out_accuracy(objective: HeadObjective, pool: list[FeatureSample], batch_size: int = 32) -> list[float]:
    """Per drafting depth, the share of answer tokens where the head's top choice is the target's."""
    device = next(objective.head.parameters()).device
    totals = None  # one per drafting depth (and, for heads with an extra output path, its token)
    batches = [pool[i:i + batch_size] for i in range(0, len(pool), batch_size)]
    for samples in batches:
        _, accuracies = objective(head_batch(samples, device))
        totals = [t + a for t, a in zip(totals or [0.0] * len(accuracies), accuracies)]
    return [round(t / len(batches), 4) for t in totals]


def head_config_for(target, intermediate_size: int) -> HeadConfig:
    """One decoder layer as wide as the target's (it reads and predicts the target's features), with its own MLP width."""
    text = target.config.text_config
    return HeadConfig(hidden_size=text.hidden_size, num_heads=text.num_attention_heads, intermediate_size=intermediate_size)


def load_target(folder: Path, device):
    return AutoModelForImageTextToText.from_pretrained(str(folder), dtype=torch.float32).to(device).eval()


def record_of(recipe: HeadRecipe, cost: Cost, accuracies: list[float], schedule: Schedule, pools: dict) -> dict:
    return {
        "recipe": asdict(recipe), "schedule": asdict(schedule), "cost": asdict(cost),
        "held_out_top1_by_depth": accuracies, "pool_sizes": {name: len(pool) for name, pool in pools.items()},
    }


def write_record(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
