"""Sampling through the whole engine is lossless: speculative tokens are distributed as the target's.

test_verify.py checks the accept/reject rule on toy distributions; this runs msd_demo.engine.speculative with a
draft model whose vocabulary is smaller than the target's (the target's is padded, as between Qwen2.5-VL 7B and
3B) and top-p < 1, so the draft's q is padded to the target's ids and both are truncated by top-p. The draft is
the target with its LM head cut to the tokenizer's ids and perturbed: close enough that drafts are accepted
often and rejected often, so both the accept rule and the residual norm(max(0, p - q)) carry weight.
"""

import copy
from collections import Counter

import pytest
import torch
from scipy.stats import chisquare

from msd_demo.engine import DecodeConfig, SamplingConfig, speculative
from msd_demo.engine.drafters import ModelDrafter
from msd_demo.engine.sampling import probabilities
from msd_demo.inputs.media import Media
from msd_demo.loading.models import LoadedModel
from tests.tiny_models import sample_images

QUESTION = "Describe the picture in detail."
IMAGE = Media(tuple(sample_images()[:1]), "image", "image.png")
SAMPLING = dict(temperature=0.5, top_p=0.9)
TRIALS = 400


@pytest.mark.slow
def test_the_second_token_is_distributed_as_the_targets(llava_lineup):
    """The first token comes from the target's prefill; the second from verifying the first draft (accepted, or
    the residual norm(max(0, p - q)) sampled on rejection). Given the first, the second must follow p."""
    target = llava_lineup.target
    drafter = perturbed_draft(target, vocabulary=len(target.tokenizer))
    assert drafter.draft.vocab_size < target.vocab_size
    pairs, kinds = Counter(), Counter()
    for seed in range(TRIALS):
        config = DecodeConfig(max_new_tokens=3, gamma=2, sampling=SamplingConfig(**SAMPLING, seed=seed))
        emitted = [token for step in speculative(target, QUESTION, IMAGE, drafter, config) for token in step.emitted]
        pairs[emitted[0].token_id, emitted[1].token_id] += 1
        kinds[emitted[1].kind] += 1
    assert min(kinds["accepted"], kinds["corrected"]) > TRIALS // 10, kinds  # both paths taken, often
    first = Counter(first for first, _ in pairs.elements()).most_common(1)[0][0]
    observed = Counter({second: n for (token, second), n in pairs.items() if token == first})
    p = next_token_distribution(target, first)
    assert all(p[token] > 0 for token in observed), "a token the target's top-p excludes was emitted"
    counts, expected = binned(observed, p)
    assert chisquare(counts, expected).pvalue > 1e-3, (counts, expected)


def perturbed_draft(target, vocabulary: int, noise: float = 0.5) -> ModelDrafter:
    """The target's own model with an LM head over the first `vocabulary` ids only, its weights perturbed."""
    model = copy.deepcopy(target.model)
    weight = model.get_output_embeddings().weight.data[:vocabulary]
    generator = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(weight.shape[1], vocabulary, bias=False)
    head.weight.data = weight + noise * weight.std() * torch.randn(weight.shape, generator=generator)
    model.set_output_embeddings(head)
    return ModelDrafter("perturbed-target", LoadedModel("perturbed-target", model, target.processor))


@torch.inference_mode()
def next_token_distribution(target, first: int) -> torch.Tensor:
    """The target's p for the second token given the first: one plain forward over prompt + [first]."""
    inputs = dict(target.prompt(QUESTION, IMAGE).model_inputs)
    inputs["input_ids"] = torch.cat([inputs["input_ids"], torch.tensor([[first]])], dim=1)
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    logits = target.model(**inputs).logits[0, -1]
    return probabilities(logits[None], SamplingConfig(**SAMPLING))[0]


def binned(observed: Counter, p: torch.Tensor) -> tuple[list[float], list[float]]:
    """Observed and expected counts per token, tokens expected fewer than 5 times pooled into one bin."""
    total = sum(observed.values())
    support = [token for token in torch.nonzero(p).flatten().tolist()]
    big = [token for token in support if p[token] * total >= 5]
    counts = [observed[token] for token in big] + [total - sum(observed[token] for token in big)]
    expected = [float(p[token]) * total for token in big] + [total - sum(float(p[token]) * total for token in big)]
    if expected[-1] < 1e-9:
        counts, expected = counts[:-1], expected[:-1]
    return counts, expected
