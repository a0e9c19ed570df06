"""The build's stages: tokenizer, target, target-tune, draft-vlm, draft-text, heads, vision_heads. Each trains, then saves fp16 safetensors.

A finished stage leaves `<out>/.checkpoints/<stage>/done.json` (its steps and cost) and is skipped on a
re-run with the same plan; an unfinished one resumes from its last checkpoint.
"""

import dataclasses
import hashlib
import json
import random
from dataclasses import asdict
from itertools import islice
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    LlamaForCausalLM,
    LlavaForConditionalGeneration,
    PreTrainedTokenizerFast,
)

from msd_demo.engine.drafters.head_model import CONFIG_FILE, DraftHead, load_head, save_head
from msd_demo.inputs.thirds import enable_thirds, reads_thirds
from msd_demo.training import architectures as arch
from msd_demo.training import heads, vision_heads
from msd_demo.training.card import update_heads_section
from msd_demo.training.data import corpus, text_batches, tune_batches, vlm_batches
from msd_demo.training.loop import Cost, Schedule, pick_device, resumable, train
from msd_demo.training.plan import (
    DRAFT_TEXT_SIZE,
    DRAFT_VLM_SIZE,
    IMAGE_SIZE,
    PAD_TO_SQUARE,
    PATCH,
    SEEDS,
    TARGET_SIZE,
    Plan,
    checkpoints,
)
from msd_demo.training.tiles import reads_tiles, to_tiles
from msd_demo.training.vision import SHARPEN_SMALL_SHARE, pretrain_vision, pretrain_vision_once
from msd_demo.world import VISUAL_WORDS
from msd_demo.world.variety import MAX_ASPECT


def tokenizer_folder(out: Path) -> Path:
    """Where the build's tokenizer is: the tokenizer stage's checkpoint, or, in a folder copied from models/ without
    its checkpoints (how a later session tunes the shipped models), the target's own copy of it."""
    for folder in (checkpoints(out, "tokenizer"), out / "target"):
        if (folder / "tokenizer.json").exists():
            return folder
    raise FileNotFoundError(
        f"no tokenizer in {out}: run the tokenizer stage (`--stages tokenizer`) or build in a copy of models/ "
        "that holds target/tokenizer.json"
    )


def load_tokenizer(out: Path) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast.from_pretrained(str(tokenizer_folder(out)))


def build_tokenizer_stage(out: Path, plan: Plan) -> None:
    write_visual_words(out)
    folder, key = checkpoints(out, "tokenizer"), _corpus_key(plan)
    built_from = json.loads((folder / "corpus.json").read_text()) if (folder / "corpus.json").exists() else None
    if (folder / "tokenizer.json").exists() and built_from == key:
        print(f"tokenizer: already built in {folder}")
        return
    tokenizer = arch.build_tokenizer(corpus(random.Random(SEEDS["tokenizer"]), plan.corpus_examples), plan.vocab_size)
    tokenizer.save_pretrained(str(folder))
    (folder / "corpus.json").write_text(json.dumps(key) + "\n")
    print(f"tokenizer: {len(tokenizer)} tokens saved to {folder}")


def _corpus_key(plan: Plan) -> dict:
    """What the tokenizer learns its merges from: one learnt from another corpus (an earlier world's answers and
    questions, left in .checkpoints by an earlier build) must not stand for this one."""
    start = "\n".join(islice(corpus(random.Random(SEEDS["tokenizer"]), plan.corpus_examples), 64))
    digest = hashlib.sha256(start.encode()).hexdigest()[:16]
    return {"examples": plan.corpus_examples, "vocab_size": plan.vocab_size, "corpus_start": digest}


def _tokenizer_fingerprint(out: Path) -> str:
    return _fingerprint(tokenizer_folder(out), "tokenizer.json")


def write_visual_words(out: Path) -> None:
    """The world's visual words, as data beside the models: the runtime splits alpha by word class with it
    and never imports the world."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "visual_words.txt").write_text("\n".join(sorted(VISUAL_WORDS)) + "\n")


def build_vlm_stage(out: Path, plan: Plan, stage: str, warm_start: Path | None = None) -> None:
    """The target or the draft VLM: LLaVA (CLIP vision tower + Llama text) trained on images and videos.

    The draft VLM starts from a copy of the target's vision tower, so it is built after the target. warm_start (the
    draft VLM only): a folder whose draft VLM's language model and projector it starts from, after a target-tune
    changed what the target says (session 38: a few hundred steps instead of the 5000 of a fresh one)."""
    size, schedule = (TARGET_SIZE, plan.target) if stage == "target" else (DRAFT_VLM_SIZE, plan.draft_vlm)
    # What it is built from: the target's vision tower for the draft VLM (a copy of it), the tokenizer for the target.
    target_weights = _tower_fingerprint(out / "target") if stage == "draft-vlm" else _tokenizer_fingerprint(out)
    if _already_done(out, stage, schedule, target_weights):
        return
    tokenizer = load_tokenizer(out)
    processor = arch.llava_processor(tokenizer, IMAGE_SIZE, PATCH, PAD_TO_SQUARE)
    torch.manual_seed(SEEDS[stage])
    text = arch.llama_config(tokenizer, size.text_hidden, size.text_layers, size.heads, size.kv_heads)
    config = arch.llava_config(tokenizer, text, size.vision_hidden, size.vision_layers, IMAGE_SIZE, PATCH)
    model = LlavaForConditionalGeneration(config).to(pick_device())
    if stage == "draft-vlm" and warm_start is not None:
        model.load_state_dict(AutoModelForImageTextToText.from_pretrained(str(warm_start / stage)).state_dict())
        print(f"{stage}: starts from {warm_start / stage}")
    if stage == "draft-vlm":
        target_tower = AutoModelForImageTextToText.from_pretrained(str(out / "target")).model.vision_tower
        model.model.vision_tower.load_state_dict(target_tower.state_dict())
    elif not resumable(checkpoints(out, stage) / "last.pt", schedule):  # a resumed run restores the trained tower
        saved = checkpoints(out, stage) / "vision_tower.pt"
        print(f"{stage}: " + pretrain_vision_once(
            model, processor.image_processor, plan.vision_steps, SEEDS[stage], saved, plan.vision_wide_steps, plan.picture_thirds
        ))
    # Frozen from here on, as in LLaVA: the language loss would otherwise wash the features out again
    # before the LM has learnt to read them.
    model.model.vision_tower.requires_grad_(False)
    rng = random.Random(SEEDS[stage])
    batches = vlm_batches(rng, processor, plan.batch_size)
    cost = train(model, batches, rng, schedule, tokenizer.pad_token_id, checkpoints(out, stage), stage)
    _finish(out, stage, model, processor, {stage: cost}, schedule, target_weights)


def build_target_tiles_stage(out: Path) -> None:
    """The trained LLaVA target rewritten as LLaVA-NeXT, which reads pictures as tiles too (tiles.py); the
    target-tune after it teaches the tiles. No training here, so no CPU time to speak of."""
    if reads_tiles(out / "target"):
        print(f"target-tiles: {out / 'target'} already reads tiles")
        return
    to_tiles(out / "target", IMAGE_SIZE)


def build_tower_sharpen_stage(out: Path, plan: Plan) -> None:
    """The trained target's vision tower, trained on by the cell objective of its pre-training (vision.py) on
    every aspect ratio, the language model untouched; a target-tune after it teaches the language model the
    sharper tokens. Session 33: an MLP probe on the tower's tokens named 3:1 held-out shapes 70% right before
    and 76% after 1500 steps (`python -m msd_demo.training.seeing`), and the target read them (its section in
    models/README.md). With plan.picture_thirds the tower learns wide and tall pictures' thirds too, as the tuned
    target will read them (session 39). Run only when named, on a trained target."""
    stage = "tower-sharpen"
    before, marker, done = _in_place_stage(out, stage)
    if done:
        print(f"{stage}: {out / 'target'} already has the sharpened tower")
        return
    processor, model = _load_target(out)  # pretrain_vision's optimizer holds only the tower (and its probe)
    right, cost = pretrain_vision(model, processor.image_processor, plan.tower_sharpen.steps, _in_place_seed(stage, before),
                                  learning_rate=plan.tower_sharpen.learning_rate, widest=MAX_ASPECT,
                                  warmup=plan.tower_sharpen.warmup, checkpoint_dir=checkpoints(out, stage),
                                  thirds=plan.picture_thirds, small_share=SHARPEN_SMALL_SHARE)
    _save_target_in_place(out, model, marker, {"final_steps": plan.tower_sharpen.steps, "from": before, "thirds": plan.picture_thirds,
                                               "small_share": SHARPEN_SMALL_SHARE,
                                               "occupied_cells_right": right, "phases": {stage: asdict(cost)}})


def build_target_tune_stage(out: Path, plan: Plan) -> None:
    """The trained target, trained on at a lower learning rate on today's data (more ways of asking, more
    off-topic requests): a target learns new wording in a fraction of its first training's steps.

    With plan.target_tune_tower_rate the vision tower learns too, from the answers' lists of what is seen; the
    draft VLM, built on a copy of the tower (`_tower_fingerprint`), then keeps the copy it was built on until it is
    rebuilt. The heads, which read the target's features, are built after this stage."""
    stage = "target-tune"
    before, marker, done = _in_place_stage(out, stage)
    if done:
        print(f"{stage}: {out / 'target'} is already the tuned target")
        return
    processor, model = _load_target(out)
    # Thirds are taught here and saved with the weights: from then on every prompt has them (not for a target
    # that reads LLaVA-NeXT tiles already).
    if plan.picture_thirds and not reads_tiles(out / "target"):
        enable_thirds(processor)
    tower = model.model.vision_tower
    tower.requires_grad_(plan.target_tune_tower_rate > 0)
    tower_ids = {id(p) for p in tower.parameters()}
    groups = [{"params": [p for p in model.parameters() if id(p) not in tower_ids]}]
    if plan.target_tune_tower_rate > 0:
        groups.append({"params": list(tower.parameters()), "lr": plan.target_tune_tower_rate})
    rng = random.Random(_in_place_seed(stage, before))
    batches = tune_batches(rng, processor, plan.batch_size)
    cost = train(model, batches, rng, plan.target_tune, processor.tokenizer.pad_token_id, checkpoints(out, stage), stage, groups)
    # The target stage's own record stays (its first training); this one says which weights it made of which.
    processor.save_pretrained(str(out / "target"))
    _save_target_in_place(out, model, marker, {"final_steps": plan.target_tune.steps, "from": before,
                                               "picture_thirds": reads_thirds(processor), "phases": {stage: asdict(cost)}})


def _in_place_stage(out: Path, stage: str) -> tuple[str, Path, bool]:
    """For a stage that rewrites out/target in place: the target's fingerprint now, the stage's marker, and whether
    the marker says this very target is already the stage's result (run again, the stage leaves it alone)."""
    before, marker = _fingerprint(out / "target"), checkpoints(out, stage) / "done.json"
    return before, marker, marker.exists() and json.loads(marker.read_text()).get("result") == before


def _in_place_seed(stage: str, before: str) -> int:
    """The stage's seed moved by the weights it starts from: run again on its own result (a second sharpening or
    tune, session 40) it draws new batches, not the ones it has already learnt from; the same weights, the same
    batches."""
    return SEEDS[stage] + int(before, 16) % 1_000_003


def _load_target(out: Path):
    """(processor, model): the trained target in float32, to train on."""
    processor = AutoProcessor.from_pretrained(str(out / "target"))
    return processor, AutoModelForImageTextToText.from_pretrained(str(out / "target"), dtype=torch.float32).to(pick_device())


def _save_target_in_place(out: Path, model, marker: Path, record: dict) -> None:
    """fp16 weights over out/target, then the marker: the record and which weights the stage made; the stage's
    last checkpoint (beside the marker) is then spent, and removed."""
    model.to("cpu", torch.float16)
    for part in (model.config.text_config, model.config.vision_config):  # loaded as float32, they would say so
        part.dtype = torch.float16
    model.save_pretrained(str(out / "target"))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({**record, "result": _fingerprint(out / "target")}, indent=2))
    (marker.parent / "last.pt").unlink(missing_ok=True)


def build_draft_text_stage(out: Path, plan: Plan) -> None:
    """A Llama LM that learns the answer language from text-only data, then the world's priors, blind."""
    stage, tokenizer_weights = "draft-text", _tokenizer_fingerprint(out)
    if _already_done(out, stage, plan.draft_text_blind, tokenizer_weights):
        return
    tokenizer = load_tokenizer(out)
    torch.manual_seed(SEEDS["draft-text-language"])
    model = LlamaForCausalLM(arch.llama_config(tokenizer, **DRAFT_TEXT_SIZE)).to(pick_device())
    costs = {}
    for phase, schedule, blind in (("language", plan.draft_text_language, False), ("blind", plan.draft_text_blind, True)):
        name = f"{stage}-{phase}"
        rng = random.Random(SEEDS[name])
        batches = text_batches(rng, tokenizer, plan.batch_size, blind)
        costs[name] = train(model, batches, rng, schedule, tokenizer.pad_token_id, checkpoints(out, name), name)
    _finish(out, stage, model, tokenizer, costs, plan.draft_text_blind, tokenizer_weights)


def build_heads_stage(out: Path, plan: Plan, names: list[str] | None = None, warm_start: Path | None = None) -> None:
    """msd and its ablations (or the heads named): heads on the shipped target's features (heads.py).

    warm_start: a folder of heads to start from (each by its name) instead of a fresh initialisation: after a
    target-tune the heads follow the tuned target's features in a fraction of the steps."""
    chosen = [r for r in heads.RECIPES if names is None or r.name in names]
    trained = {r.name: r.continued() if warm_start else r for r in chosen}
    schedules = {r.name: dataclasses.replace(plan.heads, steps=trained[r.name].steps(plan.head_text_steps, plan.heads.steps))
                 for r in chosen}
    target_weights = _fingerprint(out / "target")
    pending = [r for r in chosen if not _already_done(out, r.name, schedules[r.name], target_weights, r)]
    if not pending:
        return
    device = pick_device()
    target = heads.load_target(out / "target", device).requires_grad_(False)
    pools = _head_pools(out, plan, target, AutoProcessor.from_pretrained(str(out / "target")), target_weights)
    for recipe in pending:
        torch.manual_seed(SEEDS["heads"])
        config = dataclasses.replace(
            heads.head_config_for(target, plan.head_intermediate_size), decoupled=recipe.decoupled, visual_feature=recipe.visual_feature
        )
        head = _warm_started(DraftHead(config), warm_start, recipe.name).to(device)
        objective = heads.HeadObjective(head, target.get_input_embeddings(), target.get_output_embeddings())
        schedule = schedules[recipe.name]
        cost = heads.train_head(
            trained[recipe.name], objective, pools, schedule, plan.head_text_steps, plan.head_batch_size, SEEDS["heads"],
            checkpoints(out, recipe.name),
        )
        accuracies = heads.held_out_accuracy(objective, pools["heldout"])
        record = {**heads.record_of(recipe, cost, accuracies, schedule, pools), "warm_started": warm_start is not None}
        _finish_head(out, recipe.name, head, schedule, record, target_weights)

    update_heads_section(out)


def build_vision_heads_stage(out: Path, plan: Plan, names: list[str] | None = None, warm_start: Path | None = None) -> None:
    """ViSpec's and FLASH's heads and their ablations (or those named): vision_heads.py; warm_start as for heads."""
    chosen = [r for r in vision_heads.VISION_RECIPES if names is None or r.name in names]
    target_weights = _fingerprint(out / "target")
    pending = [r for r in chosen if not _already_done(out, r.name, plan.vision_heads, target_weights, r)]
    if not pending:
        return
    device = pick_device()
    target = heads.load_target(out / "target", device).requires_grad_(False)
    processor = AutoProcessor.from_pretrained(str(out / "target"))
    pools = _head_pools(out, plan, target, processor, target_weights)
    if any(r.pool == "long_answers" for r in pending):
        pools["long_answers"] = _long_answer_pool(out, plan, target, processor, target_weights)
    for recipe in pending:
        torch.manual_seed(SEEDS["vision-heads"])
        config = dataclasses.replace(
            heads.head_config_for(target, plan.head_intermediate_size), visual_queries=recipe.visual_queries,
            global_feature=recipe.global_feature, tokens_per_pass=recipe.tokens_per_pass,
        )
        head = _warm_started(DraftHead(config), warm_start, recipe.name).to(device)
        objective = vision_heads.VisionHeadObjective(head, target.get_input_embeddings(), target.get_output_embeddings())
        used = {"multimodal": pools[recipe.pool], "text": []}
        cost = heads.train_head(
            recipe, objective, used, plan.vision_heads, 0, plan.head_batch_size, SEEDS["vision-heads"], checkpoints(out, recipe.name)
        )
        accuracies = heads.held_out_accuracy(objective, pools["heldout"])
        used_pools = {recipe.pool: pools[recipe.pool], "heldout": pools["heldout"]}
        record = heads.record_of(recipe, cost, accuracies, plan.vision_heads, used_pools)
        _finish_head(out, recipe.name, head, plan.vision_heads, record, target_weights)

    update_heads_section(out)


def _warm_started(head: DraftHead, folder: Path | None, name: str) -> DraftHead:
    """The head with the weights of folder/name (same recipe and size, an earlier target), or as it is."""
    if folder is None:
        return head
    if not (folder / name / CONFIG_FILE).exists():
        raise ValueError(f"{name}: no head in {folder / name} to start from; build it fresh (no --warm-start)")
    earlier = load_head(folder / name, torch.device("cpu"), torch.float32)
    if earlier.config != head.config:
        raise ValueError(f"{name}: the head in {folder / name} is not of this recipe and size; build it fresh (no --warm-start)")
    head.load_state_dict(earlier.state_dict())
    print(f"{name}: starts from {folder / name}")
    return head


def _finish_head(out: Path, name: str, head: DraftHead, schedule: Schedule, record: dict, target: str) -> None:
    save_head(head, out / name, record)
    (checkpoints(out, name) / "last.pt").unlink()
    done = {"final_steps": schedule.steps, "parameters": parameter_count(head), "target": target, **record}
    heads.write_record(checkpoints(out, name) / "done.json", done)
    accuracies = record["held_out_top1_by_depth"]
    print(f"{name}: {record['cost']['steps']} steps, {record['cost']['cpu_seconds']:.0f} s CPU; held-out top-1 {accuracies}")


def _long_answer_pool(out: Path, plan: Plan, target, processor, target_weights: str) -> list:
    """The target's long answers and its features on them, kept beside the checkpoints like the other pools."""

    def build() -> list:
        samples = vision_heads.long_answer_samples(
            target, processor, plan.long_answers, SEEDS["long-answers"], plan.head_batch_size, plan.eval_max_new_tokens
        )
        batches = (samples[i: i + plan.batch_size] for i in range(0, len(samples), plan.batch_size))
        return heads.feature_pool(target, batches, len(samples), processor.tokenizer.pad_token_id, "features: long answers")

    return _cached(checkpoints(out, "vision_heads") / "long_answers.pt", (plan.long_answers, target_weights), build)


def _head_pools(out: Path, plan: Plan, target, processor, target_weights: str) -> dict[str, list]:
    """Built once and kept beside the checkpoints: an interrupted build resumes without re-reading them."""

    def build() -> dict[str, list]:
        tokenizer, pad_id = processor.tokenizer, processor.tokenizer.pad_token_id
        sources = {
            "text": text_batches(random.Random(SEEDS["head-pool-text"]), tokenizer, plan.batch_size, blind=False),
            "multimodal": vlm_batches(random.Random(SEEDS["head-pool-multimodal"]), processor, plan.batch_size),
            "heldout": vlm_batches(random.Random(SEEDS["head-pool-heldout"]), processor, plan.batch_size),
        }
        return {
            name: heads.feature_pool(target, sources[name], count, pad_id, f"features: {name}") for name, count in plan.head_pools.items()
        }

    return _cached(checkpoints(out, "heads") / "pools.pt", (plan.head_pools, target_weights), build)


def _cached(path: Path, key, build):
    """What build() returns, saved at path and loaded from there while `key` (the sizes the plan asks for and
    the target the features come from) is the same."""
    if path.exists():
        saved = torch.load(path, weights_only=False)
        if saved["key"] == key:
            return saved["pool"]
    pool = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")  # renamed when whole: a stage reading it, or a resume, never sees half a pool
    torch.save({"key": key, "pool": pool}, partial)
    partial.replace(path)
    return pool


def _fingerprint(folder: Path, pattern: str = "*.safetensors") -> str:
    """Which weights a folder holds: what was built from an earlier target (the heads, their cached features)
    must not stand for a new one."""
    digest = hashlib.sha256()
    for weights in sorted(folder.glob(pattern)):
        digest.update(weights.read_bytes())
    return digest.hexdigest()[:16]


def _tower_fingerprint(folder: Path) -> str:
    """Which vision tower a VLM folder holds: the draft VLM is built on a copy of the target's, and must be built
    again when a target-tune trains the tower (a tune with the tower frozen leaves both as they were)."""
    digest = hashlib.sha256()
    for weights in sorted(folder.glob("*.safetensors")):
        tensors = load_file(weights)
        for key in sorted(k for k in tensors if "vision_tower" in k):
            digest.update(key.encode())
            digest.update(tensors[key].numpy().tobytes())
    return digest.hexdigest()[:16]


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _already_done(out: Path, stage: str, schedule: Schedule, target: str | None = None, recipe=None) -> bool:
    """True when the stage finished with this schedule and from the same inputs (`target`: the fingerprint of
    what it is built from: the tokenizer for the target and draft-text, the target's vision tower for the draft
    VLM, the target's weights for the heads; for a head, by the same recipe too)."""
    marker = checkpoints(out, stage) / "done.json"
    if not marker.exists():
        return False
    done = json.loads(marker.read_text())
    if done["final_steps"] != schedule.steps or done.get("target") != target:
        return False
    if recipe is not None and done.get("recipe") != dataclasses.asdict(recipe):
        return False
    print(f"{stage}: already built in {out / stage}")
    return True


def _finish(out: Path, stage: str, model, processor, costs: dict[str, Cost], schedule: Schedule, target: str | None = None) -> None:
    """fp16 safetensors plus the processor (or tokenizer), and the stage's record for the model card."""
    model.to("cpu", torch.float16).save_pretrained(str(out / stage))
    processor.save_pretrained(str(out / stage))
    for checkpoint in checkpoints(out, "").glob(f"{stage}*/last.pt"):
        checkpoint.unlink()  # the shipped folder now holds the result; optimizer states would only take space
    record = {
        "final_steps": schedule.steps, "parameters": parameter_count(model), "target": target,
        "phases": {k: asdict(c) for k, c in costs.items()},
    }
    checkpoints(out, stage).mkdir(parents=True, exist_ok=True)
    (checkpoints(out, stage) / "done.json").write_text(json.dumps(record, indent=2))
    for name, cost in costs.items():
        print(f"{name}: {cost.steps} steps, {cost.cpu_seconds:.0f} s CPU, {cost.wall_seconds:.0f} s wall")
