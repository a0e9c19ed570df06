"""Held-out measurement of the shipped models: greedy answers checked against the world's exact answers.

The models are loaded from disk with the Auto classes, as the runtime loads them, so what is measured is
what ships. Prompts come from the runtime's `build_prompt`, left-padded to batch the generation.
"""

import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

from msd_demo.inputs.prompt import Prompt, build_prompt
from msd_demo.training.data import example_media
from msd_demo.training.scoring import count_claim, direction, last_sentence, stated_objects, yes_or_no
from msd_demo.world import Example, sample_example

EVAL_SEED = 90_210  # never used to draw training data
MAX_NEW_TOKENS = {"describe": 160, "count": 96, "motion": 40, "where": 32, "colour": 32, "exists": 96}


@dataclass
class Scores:
    objects_right: float  # describe: share of objects whose colour, shape and position are all stated
    objects_precision: float  # describe: share of stated objects that are really there
    describe_exact: float
    count_accuracy: float
    motion_accuracy: float
    where_accuracy: float  # the answer is exactly right
    colour_accuracy: float  # the answer is exactly right
    exists_accuracy: float  # yes or no is right
    # Where the target must name a shape's place, the attention the most telling head (any layer) gives the
    # asked shape over an average shape of the picture: about 1 when no head looks the shape up by what it is.
    lookup_attention: float
    examples: int  # per task


def load_vlm(folder: Path):
    return AutoProcessor.from_pretrained(str(folder)), AutoModelForImageTextToText.from_pretrained(str(folder), dtype=torch.float32).eval()


def load_lm(folder: Path):
    return AutoTokenizer.from_pretrained(str(folder)), AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()


def evaluate_target(folder: Path, examples: int, max_new_tokens: int, batch_size: int = 16) -> Scores:
    processor, model = load_vlm(folder)
    rng = random.Random(EVAL_SEED)
    answers = {}
    for kind in MAX_NEW_TOKENS:
        tasks = [sample_example(rng, "heldout", kind) for _ in range(examples)]
        answers[kind] = (tasks, greedy_answers(model, processor, tasks, min(max_new_tokens, MAX_NEW_TOKENS[kind]), batch_size))
    return Scores(
        *describe_scores(*answers["describe"]),
        **{f"{kind}_accuracy": answer_accuracy(kind, *answers[kind]) for kind in ANSWER_KEYS},
        lookup_attention=lookup_attention(model, processor, answers["where"][0]),
        examples=examples,
    )


def lookup_attention(model, processor, tasks: list[Example]) -> float:
    """Over "where" questions, fed their answer up to the place ("The red circle is at the"): per layer and head,
    the mean attention on the asked shape's image token over the mean on an occupied cell's, both as shares of
    what the head gives the picture; the largest among the heads that give the picture at least a quarter of
    their attention (one that hardly looks at it can rank its crumbs any way). A head that finds the shape by
    its name gives up to the number of shapes (1 to 6); about 1 means no head looks it up.

    Switches `model` to eager attention: only that path returns the attention weights."""
    model.set_attn_implementation("eager")
    on_asked, on_occupied, on_picture = 0.0, 0.0, 0.0
    for task in tasks:
        prompt = build_prompt(processor, task.question, example_media(task), torch.device("cpu"), model.config.image_token_id)
        lead = processor.tokenizer(task.answer.split(" is at the ")[0] + " is at the", add_special_tokens=False, return_tensors="pt")
        input_ids = torch.cat([prompt.input_ids, lead.input_ids], dim=1)
        with torch.no_grad():
            attentions = model(input_ids=input_ids, pixel_values=prompt.model_inputs["pixel_values"], output_attentions=True).attentions
        image_positions = prompt.visual_mask.nonzero()[:, 0]
        raw = torch.stack([layer[0, :, -1, image_positions] for layer in attentions])  # [layers, heads, 9 cells]
        on_picture = on_picture + raw.sum(-1) / len(tasks)
        shares = raw / raw.sum(-1, keepdim=True)
        asked = next(s for s in task.scene.objects if task.answer.startswith(f"The {s.name} "))
        on_asked = on_asked + shares[..., asked.cell]
        on_occupied = on_occupied + shares[..., [s.cell for s in task.scene.objects]].mean(-1)
    looking = (on_asked / on_occupied)[on_picture >= 0.25]
    return float(looking.max()) if looking.numel() else 1.0  # no head looks at the picture: none looks a shape up


def greedy_answers(model, processor, tasks: list[Example], max_new_tokens: int, batch_size: int) -> list[str]:
    tokenizer = processor.tokenizer
    texts = []
    for start in tqdm(range(0, len(tasks), batch_size), desc=f"eval {tasks[0].kind}", dynamic_ncols=True):
        prompts = [build_prompt(processor, t.question, example_media(t), torch.device("cpu")) for t in tasks[start : start + batch_size]]
        inputs = _left_padded(prompts, tokenizer.pad_token_id)
        with torch.no_grad():
            output = model.generate(
                **inputs, max_new_tokens=max_new_tokens, do_sample=False,
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
            )
        texts += tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return [text.strip() for text in texts]


def _left_padded(prompts: list[Prompt], pad_id: int) -> dict[str, torch.Tensor]:
    # Left padding keeps every prompt's last token in the last column, where generation continues.
    length = max(p.length for p in prompts)
    input_ids = torch.full((len(prompts), length), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, prompt in enumerate(prompts):
        input_ids[row, length - prompt.length :] = prompt.input_ids[0]
        attention_mask[row, length - prompt.length :] = 1
    pixel_values = torch.cat([p.model_inputs["pixel_values"] for p in prompts])
    return {"input_ids": input_ids, "attention_mask": attention_mask, "pixel_values": pixel_values}


def describe_scores(tasks: list[Example], answers: list[str]) -> tuple[float, float, float]:
    right = stated = correct_stated = total = exact = 0
    for task, answer in zip(tasks, answers):
        truth = {(s.colour, s.kind, s.position) for s in task.scene.objects}
        said = stated_objects(answer)
        right, total = right + len(truth & said), total + len(truth)
        stated, correct_stated = stated + len(said), correct_stated + len(said & truth)
        exact += answer == task.answer
    return right / total, correct_stated / max(stated, 1), exact / len(tasks)


# What of a short answer must match the world's for it to count as right; read in the old answer forms and
# the grounded ones alike (scoring.py), so the card's eval scores a target trained on either.
ANSWER_KEYS = {"count": count_claim, "motion": direction, "where": last_sentence, "colour": last_sentence, "exists": yes_or_no}


def answer_accuracy(kind: str, tasks: list[Example], answers: list[str]) -> float:
    key = ANSWER_KEYS[kind]
    return sum(key(a) == key(t.answer) for t, a in zip(tasks, answers)) / len(tasks)


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
