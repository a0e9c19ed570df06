"""transformers' own generate() and assisted generation on the same inputs: the references we measure against.

Timed as our loop is: from the question and media to the last token, so building the prompt (processor and
chat template) is inside the timed span in both (our engine builds it inside the generator that `collect`
times; its prefill step's own seconds exclude it in both runs of a comparison alike).
"""

import time

import torch

from msd_demo.engine.timing import synchronize
from msd_demo.inputs.media import Media
from msd_demo.loading.models import LoadedModel


@torch.inference_mode()
def hf_generate(target: LoadedModel, question: str, media: Media | None, max_new_tokens: int, **assist) -> tuple[list[int], float]:
    """Greedy generate(); returns the new token ids and the end-to-end seconds (prompt building and prefill included)."""
    synchronize(target.device)
    start = time.perf_counter()
    prompt = target.prompt(question, media)
    output = target.model.generate(
        **prompt.model_inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
        pad_token_id=target.tokenizer.pad_token_id, eos_token_id=sorted(target.eos_token_ids), **assist,
    )
    synchronize(target.device)
    seconds = time.perf_counter() - start
    return output[0, prompt.length :].tolist(), seconds


def hf_assisted(target: LoadedModel, question: str, media: Media | None, max_new_tokens: int, gamma: int, draft: LoadedModel | None):
    """Assisted generation with the same draft model and a constant gamma, or prompt lookup (draft None)."""
    if draft is None:
        return hf_generate(target, question, media, max_new_tokens, prompt_lookup_num_tokens=gamma)
    draft.model.generation_config.num_assistant_tokens = gamma
    draft.model.generation_config.num_assistant_tokens_schedule = "constant"
    draft.model.generation_config.assistant_confidence_threshold = 0.0  # draft exactly gamma, as our loop does
    return hf_generate(target, question, media, max_new_tokens, assistant_model=draft.model)
