"""Logits -> distributions (temperature, top-p) and token choice. The same rules for p and for q."""

from dataclasses import dataclass

import torch

from msd_demo.errors import UserInputError
from msd_demo.limits import LIMITS


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if not 0.0 <= self.temperature <= LIMITS.max_temperature:
            raise UserInputError(f"temperature must be between 0 and {LIMITS.max_temperature:g}, got {self.temperature:g}.")
        if not 0.0 < self.top_p <= 1.0:
            raise UserInputError(f"top-p must be in (0, 1], got {self.top_p:g}.")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def probabilities(logits: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """logits: [..., V] -> the distribution decoding samples from (for greedy: softmax at T=1, for display)."""
    logits = logits.float()
    if config.greedy:
        return torch.softmax(logits, dim=-1)
    probs = torch.softmax(logits / config.temperature, dim=-1)
    return _top_p(probs, config.top_p) if config.top_p < 1.0 else probs


def _top_p(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    # Keep the smallest set of tokens whose mass reaches top_p (always at least the most likely one).
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    kept = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return kept / kept.sum(dim=-1, keepdim=True)


def choose(probs: torch.Tensor, config: SamplingConfig, generator: torch.Generator | None) -> int:
    """probs: [V] -> one token id: argmax when greedy, else a draw."""
    if config.greedy:
        return int(probs.argmax())
    return int(torch.multinomial(probs, 1, generator=generator))


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
