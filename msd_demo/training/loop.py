"""One training loop for every stage: AdamW, warmup + cosine, tqdm with the loss, resumable checkpoints.

A checkpoint holds the model, the optimizer, the scheduler, the step, the data generator's random state,
torch's, and the CPU and wall seconds spent so far, so a re-run continues the same stream of batches and
the model card reports the whole stage's cost, interruptions included.
"""

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import get_cosine_schedule_with_warmup

from msd_demo.training.data import collate

CHECKPOINT_SECONDS = 180.0  # at most this much work lost to an interruption


@dataclass
class Schedule:
    steps: int
    learning_rate: float
    warmup: int
    weight_decay: float = 0.01


@dataclass
class Cost:
    steps: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    tokens: int = 0


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(model, batches: Iterator, rng: random.Random, schedule: Schedule, pad_id: int, checkpoint_dir: Path, label: str,
          parameter_groups: list[dict] | None = None) -> Cost:
    """Train `model` in place for schedule.steps steps; `batches` draws its samples from `rng`."""
    device = next(model.parameters()).device

    def step(cost: Cost) -> tuple[torch.Tensor, dict]:
        batch = {name: value.to(device) for name, value in collate(next(batches), pad_id).items()}
        cost.tokens += int(batch["attention_mask"].sum())
        return model(**batch).loss, {}

    return run_steps(model, step, rng, schedule, checkpoint_dir, label, parameter_groups)


StepFunction = Callable[[Cost], tuple[torch.Tensor, dict]]  # cost so far -> (loss, figures for the progress bar)


def run_steps(model, step: StepFunction, rng: random.Random, schedule: Schedule, checkpoint_dir: Path | None, label: str,
              parameter_groups: list[dict] | None = None) -> Cost:
    """The loop every stage shares: AdamW with warmup + cosine, gradient clipping, a checkpoint every
    CHECKPOINT_SECONDS and at the end, resumed from the last one; `step` computes one batch's loss.
    `parameter_groups` (torch's form) gives some parameters their own peak rate; the schedule scales each alike.
    Without a checkpoint_dir (a short measuring run), nothing is saved or resumed."""
    groups = parameter_groups or model.parameters()
    optimizer = torch.optim.AdamW(groups, lr=schedule.learning_rate, weight_decay=schedule.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, schedule.warmup, schedule.steps)
    checkpoint = checkpoint_dir / "last.pt" if checkpoint_dir is not None else None
    cost = resume_checkpoint(checkpoint, model, optimizer, scheduler, rng, schedule) if checkpoint else Cost()
    model.train()
    progress = tqdm(total=schedule.steps, initial=cost.steps, desc=label, dynamic_ncols=True)
    cpu_start, wall_start, last_save = time.process_time(), time.time(), time.time()
    spent = (cost.cpu_seconds, cost.wall_seconds)
    while cost.steps < schedule.steps:
        loss, figures = step(cost)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        cost.steps += 1
        cost.cpu_seconds = spent[0] + time.process_time() - cpu_start
        cost.wall_seconds = spent[1] + time.time() - wall_start
        progress.set_postfix(loss=f"{loss.item():.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}", **figures)
        progress.update()
        if checkpoint and time.time() - last_save > CHECKPOINT_SECONDS:
            save_checkpoint(checkpoint, model, optimizer, scheduler, rng, cost, schedule)
            last_save = time.time()
    progress.close()
    if checkpoint:  # kept until the whole stage is saved: a later phase of the stage may still be interrupted
        save_checkpoint(checkpoint, model, optimizer, scheduler, rng, cost, schedule)
    model.eval()
    return cost


def save_checkpoint(path: Path, model, optimizer, scheduler, rng: random.Random, cost: Cost, schedule: Schedule) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "data_rng": rng.getstate(), "torch_rng": torch.get_rng_state(), "cost": vars(cost),
        "schedule": vars(schedule),
    }
    # Write then rename: an interruption mid-write leaves the previous checkpoint intact.
    torch.save(state, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


def resumable(path: Path, schedule: Schedule) -> bool:
    """Whether `path` holds a checkpoint that resume_checkpoint would continue (one made for this schedule)."""
    return path.exists() and torch.load(path, weights_only=False)["schedule"] == vars(schedule)


def resume_checkpoint(path: Path, model, optimizer, scheduler, rng: random.Random, schedule: Schedule) -> Cost:
    if not path.exists():
        return Cost()
    state = torch.load(path, map_location=next(model.parameters()).device, weights_only=False)
    if state["schedule"] != vars(schedule):
        print(f"ignoring {path}: it was made for another schedule ({state['schedule']})")
        return Cost()
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng.setstate(state["data_rng"])
    torch.set_rng_state(state["torch_rng"])
    cost = Cost(**state["cost"])
    print(f"resuming from {path} at step {cost.steps}")
    return cost
