"""Before a full rebuild: what the FULL plan makes, on disk and in CPU time, without training it.

Builds every shipped model at FULL size with random weights (target, draft VLM, draft-text and every head),
saves them as the build does (fp16 safetensors) to a temporary folder and sums their sizes against the
40 MB budget of models/ (issue 21). Then times a few steps of each stage at full size, batch as planned,
in process CPU seconds (run it with one thread), and extrapolates to the plan's steps. Generation (ViSpec's
long answers, the eval) runs to its full token budget with random weights, which never stop early: an
upper bound, scaled by the mean length of the real answers for the estimate.

    OMP_NUM_THREADS=1 python -m msd_demo.training.budget --tokenizer /tmp/quick/.checkpoints/tokenizer --steps 20
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import tempfile
import time
from pathlib import Path

import torch
from transformers import LlamaForCausalLM, LlavaForConditionalGeneration, PreTrainedTokenizerFast

from msd_demo.engine.drafters.head_model import DraftHead, save_head
from msd_demo.training import architectures as arch
from msd_demo.training import heads, robustness, vision_heads
from msd_demo.training.data import text_batches, vlm_batches
from msd_demo.training.evaluate import greedy_answers, task_prompts
from msd_demo.training.loop import Schedule, train
from msd_demo.training.plan import DRAFT_TEXT_SIZE, DRAFT_VLM_SIZE, FULL, IMAGE_SIZE, PAD_TO_SQUARE, PATCH, TARGET_SIZE, VlmSize
from msd_demo.training.vision import pretrain_vision
from msd_demo.world import KINDS, VIDEO_KINDS

BUDGET_MB = 40.0


def build_vlm(tokenizer, size: VlmSize) -> LlavaForConditionalGeneration:
    text = arch.llama_config(tokenizer, size.text_hidden, size.text_layers, size.heads, size.kv_heads)
    return LlavaForConditionalGeneration(arch.llava_config(tokenizer, text, size.vision_hidden, size.vision_layers, IMAGE_SIZE, PATCH))


def build_head(target, recipe) -> DraftHead:
    config = heads.head_config_for(target, FULL.head_intermediate_size)
    wanted = {f.name: getattr(recipe, f.name) for f in dataclasses.fields(recipe) if hasattr(config, f.name)}
    return DraftHead(dataclasses.replace(config, **wanted))


def megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def sizes_on_disk(tokenizer, out: Path) -> dict[str, float]:
    """Every model of models/ at FULL size, random weights, saved as the build saves them: name -> MB."""
    processor = arch.llava_processor(tokenizer, IMAGE_SIZE, PATCH, PAD_TO_SQUARE)
    target = build_vlm(tokenizer, TARGET_SIZE)
    models = {"target": target, "draft-vlm": build_vlm(tokenizer, DRAFT_VLM_SIZE),
              "draft-text": LlamaForCausalLM(arch.llama_config(tokenizer, **DRAFT_TEXT_SIZE))}
    for name, model in models.items():
        model.to(torch.float16).save_pretrained(str(out / name))
        (tokenizer if name == "draft-text" else processor).save_pretrained(str(out / name))
    target.float()
    for recipe in heads.RECIPES + vision_heads.VISION_RECIPES:
        save_head(build_head(target, recipe), out / recipe.name)
    return {folder.name: megabytes(folder) for folder in sorted(out.iterdir()) if folder.is_dir()}


def per_step(tokenizer, steps: int, work: Path) -> dict[str, float]:
    """CPU seconds per step of each training stage at FULL size (its own batch), after one warm-up step."""
    processor = arch.llava_processor(tokenizer, IMAGE_SIZE, PATCH, PAD_TO_SQUARE)
    schedule = Schedule(steps=steps, learning_rate=1e-3, warmup=1)
    pad = tokenizer.pad_token_id
    target, draft = build_vlm(tokenizer, TARGET_SIZE), build_vlm(tokenizer, DRAFT_VLM_SIZE)
    pretrain_vision(target, processor.image_processor, 1, seed=0)
    started = time.process_time()
    pretrain_vision(target, processor.image_processor, steps, seed=1)
    timed = {"vision": (time.process_time() - started) / steps}
    for name, model in (("target", target), ("draft-vlm", draft)):
        model.model.vision_tower.requires_grad_(False)
        rng = random.Random(1)
        cost = train(model, vlm_batches(rng, processor, FULL.batch_size), rng, schedule, pad, work / name, name)
        timed[name] = cost.cpu_seconds / steps
    lm = LlamaForCausalLM(arch.llama_config(tokenizer, **DRAFT_TEXT_SIZE))
    rng = random.Random(1)
    cost = train(lm, text_batches(rng, tokenizer, FULL.batch_size, False), rng, schedule, pad, work / "draft-text", "draft-text")
    timed["draft-text"] = cost.cpu_seconds / steps
    target.eval().requires_grad_(False)
    pool_count, started = 2 * FULL.head_batch_size, time.process_time()
    pool = heads.feature_pool(target, vlm_batches(random.Random(2), processor, FULL.batch_size), pool_count, pad, "pool")
    timed["head-pool-sample"] = (time.process_time() - started) / pool_count
    for recipe in (heads.RECIPES[0], vision_heads.VISION_RECIPES[0], vision_heads.VISION_RECIPES[2]):
        head = build_head(target, recipe)
        objective_class = heads.HeadObjective if recipe in heads.RECIPES else vision_heads.VisionHeadObjective
        objective = objective_class(head, target.get_input_embeddings(), target.get_output_embeddings())
        cost = heads.train_head(recipe, objective, {"multimodal": pool, "text": pool}, schedule, 0, FULL.head_batch_size, 1,
                                work / recipe.name)
        timed[f"head {recipe.name}"] = cost.cpu_seconds / steps
    return timed


def generation_seconds(tokenizer, answers: int) -> dict[str, float]:
    """CPU seconds per answer at the full token budget (random weights never stop), images and videos."""
    processor = arch.llava_processor(tokenizer, IMAGE_SIZE, PATCH, PAD_TO_SQUARE)
    target = build_vlm(tokenizer, TARGET_SIZE).eval()
    timed = {}
    for kind in ("describe", "describe_video"):
        tasks = robustness.cell_tasks(random.Random(3), kind, "heldout", 1.0, answers)
        budget = robustness.MAX_NEW_TOKENS[kind]
        started = time.process_time()
        greedy_answers(target, processor.tokenizer, task_prompts(processor, tasks), budget, answers)
        timed[kind] = (time.process_time() - started) / answers
        mean_tokens = sum(len(tokenizer(t.answer).input_ids) + 1 for t in tasks) / answers
        timed[f"{kind} real/budget tokens"] = min(1.0, mean_tokens / budget)
    return timed


def report(sizes: dict[str, float], steps: dict[str, float], generation: dict[str, float]) -> str:
    total = sum(sizes.values())
    lines = [f"{name}: {mb:.1f} MB" for name, mb in sizes.items()]
    lines.append(f"total: {total:.1f} MB of {BUDGET_MB:.0f} MB ({'within' if total <= BUDGET_MB else 'OVER'} budget)")
    lines += [f"{name}: {seconds:.2f} CPU s a {'sample' if name.endswith('sample') else 'step'}" for name, seconds in steps.items()]
    lines += [f"generation {name}: {value:.2f}" + ("" if "tokens" in name else " CPU s an answer") for name, value in generation.items()]
    return "\n".join(lines)


def estimate(steps: dict[str, float], generation: dict[str, float]) -> dict[str, float]:
    """CPU hours per stage of the FULL plan."""
    head_steps = sum(r.steps(FULL.head_text_steps, FULL.heads.steps) for r in heads.RECIPES)
    pools = sum(FULL.head_pools.values())
    image_share = len([k for k in KINDS if k not in VIDEO_KINDS]) / len(KINDS)
    per_answer = {kind: generation[kind] * generation[f"{kind} real/budget tokens"] for kind in ("describe", "describe_video")}
    answers = len(KINDS) * 6 * FULL.eval_examples + FULL.off_topic_examples
    eval_seconds = answers * (image_share * per_answer["describe"] + (1 - image_share) * per_answer["describe_video"])
    long_answers = FULL.long_answers * (0.6 * per_answer["describe"] + 0.4 * per_answer["describe_video"])
    vision_head_steps = FULL.vision_heads.steps * len(vision_heads.VISION_RECIPES)
    seconds = {
        "target vision pre-training": (FULL.vision_steps + FULL.vision_wide_steps) * steps["vision"],
        "target": FULL.target.steps * steps["target"],
        "draft-vlm": FULL.draft_vlm.steps * steps["draft-vlm"],
        "draft-text": (FULL.draft_text_language.steps + FULL.draft_text_blind.steps) * steps["draft-text"],
        "head pools": pools * steps["head-pool-sample"],
        "msd heads (5)": head_steps * steps[f"head {heads.RECIPES[0].name}"],
        "ViSpec long answers": long_answers,
        "ViSpec and FLASH heads (5)": vision_head_steps * (steps["head vispec"] + steps["head flash"]) / 2,
        "eval": eval_seconds,
    }
    return {name: value / 3600 for name, value in seconds.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m msd_demo.training.budget", description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", type=Path, required=True, help="a built tokenizer folder (its vocabulary size is the plan's)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per stage (default: 20)")
    parser.add_argument("--answers", type=int, default=8, help="timed generated answers per kind (default: 8)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(args.tokenizer))
    with tempfile.TemporaryDirectory() as folder:
        sizes = sizes_on_disk(tokenizer, Path(folder) / "models")
        steps = per_step(tokenizer, args.steps, Path(folder) / "work")
    generation = generation_seconds(tokenizer, args.answers)
    print(report(sizes, steps, generation))
    hours = estimate(steps, generation)
    print("\n".join(f"{name}: {value:.2f} CPU h" for name, value in hours.items()) + f"\ntotal: {sum(hours.values()):.1f} CPU h")


if __name__ == "__main__":
    main()
