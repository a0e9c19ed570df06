"""Measuring the shipped models: batched greedy answers (scored by robustness.py) and decode-forward times.

The models are loaded from disk with the Auto classes, as the runtime loads them, so what is measured is
what ships. Prompts come from the runtime's `build_prompt`, left-padded to batch the generation.
"""

import random
import statistics
import time
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

from msd_demo.inputs.prompt import Prompt, build_prompt
from msd_demo.training.data import example_media, media_batch
from msd_demo.world import Example, sample_example

EVAL_SEED = 90_210  # never used to draw training data


def load_vlm(folder: Path):
    return AutoProcessor.from_pretrained(str(folder)), AutoModelForImageTextToText.from_pretrained(str(folder), dtype=torch.float32).eval()


def load_lm(folder: Path):
    return AutoTokenizer.from_pretrained(str(folder)), AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()


def task_prompts(processor, tasks: list[Example]) -> list[Prompt]:
    """Each task's prompt as the runtime builds it (the picture or frames through the processor)."""
    return [build_prompt(processor, t.question, example_media(t), torch.device("cpu")) for t in tasks]


def greedy_answers(model, tokenizer, prompts: list[Prompt], max_new_tokens: int, batch_size: int, desc: str = "eval",
                   answer_starts: list[str] | None = None) -> list[str]:
    """Each prompt's greedy answer; with `answer_starts`, the answer is forced to begin with its start (given as
    written, not generated) and what the model writes after it is returned, the start not included."""
    texts = []
    for start in tqdm(range(0, len(prompts), batch_size), desc=desc, dynamic_ncols=True):
        batch = prompts[start : start + batch_size]
        if answer_starts is not None:
            batch = [_forced(p, text, tokenizer) for p, text in zip(batch, answer_starts[start : start + batch_size])]
        inputs = _left_padded(batch, tokenizer.pad_token_id)
        with torch.no_grad():
            output = model.generate(
                **inputs, max_new_tokens=max_new_tokens, do_sample=False,
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
            )
        texts += tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return [text.strip() for text in texts]


def _forced(prompt: Prompt, answer_start: str, tokenizer) -> Prompt:
    """The prompt with the answer's first words after it, tokenized as training tokenizes an answer."""
    ids = tokenizer(answer_start, add_special_tokens=False, return_tensors="pt").input_ids
    visual = torch.zeros(ids.shape[1], dtype=torch.bool)
    return Prompt(torch.cat([prompt.input_ids, ids], 1), prompt.model_inputs, torch.cat([prompt.visual_mask, visual]))


def _left_padded(prompts: list[Prompt], pad_id: int) -> dict[str, torch.Tensor]:
    # Left padding keeps every prompt's last token in the last column, where generation continues.
    length = max(p.length for p in prompts)
    input_ids = torch.full((len(prompts), length), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, prompt in enumerate(prompts):
        input_ids[row, length - prompt.length :] = prompt.input_ids[0]
        attention_mask[row, length - prompt.length :] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask} | media_batch([p.model_inputs for p in prompts])


def decode_forward_ms(model, inputs: dict, repeats: int = 30) -> float:
    """Median time of one cached single-token forward after a prefill of `inputs`, the decode loop's unit."""
    with torch.no_grad():
        prefill = model(**inputs, use_cache=True)
        cache = prefill.past_key_values
        token = prefill.logits[:, -1:].argmax(-1)
        times = []
        for _ in range(repeats + 3):
            start = time.perf_counter()
            model(input_ids=token, past_key_values=cache, use_cache=True)
            times.append(time.perf_counter() - start)
            cache.crop(-1)  # drop the token again: every repeat decodes at the same position
    return 1000 * statistics.median(times[3:])  # the first few warm up allocators and kernels


def decode_times(out: Path) -> dict[str, float]:
    """Decode-forward milliseconds of each shipped model after an image prompt (text prompt for the LM)."""
    example, cpu = sample_example(random.Random(EVAL_SEED), "heldout", "describe"), torch.device("cpu")
    times = {}
    for name in ("target", "draft-vlm"):
        processor, model = load_vlm(out / name)
        times[name] = decode_forward_ms(model, build_prompt(processor, example.question, example_media(example), cpu).model_inputs)
    tokenizer, model = load_lm(out / "draft-text")
    times["draft-text"] = decode_forward_ms(model, build_prompt(tokenizer, example.question, None, cpu).model_inputs)
    return times
