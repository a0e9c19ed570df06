"""`models/README.md`: the model card, written from what the build recorded and measured."""

import json
from pathlib import Path

import torch

from msd_demo.engine.drafters.head_model import CONFIG_FILE
from msd_demo.training import robustness
from msd_demo.training.data import KIND_WEIGHTS, VIDEO_FRAMES, video_share
from msd_demo.training.plan import DRAFT_TEXT_SIZE, DRAFT_VLM_SIZE, IMAGE_SIZE, PATCH, SEEDS, TARGET_SIZE, Plan, checkpoints

MODELS = ("target", "draft-vlm", "draft-text")


def write_card(out: Path, plan: Plan, command: str, measured: dict, decode_ms: dict[str, float]) -> Path:
    """measured: robustness.measure's result on out/target."""
    records = build_records(out)
    sections = [_header(command), _architecture(plan), _models_table(out, records, decode_ms), _data(plan),
                _training_table(records, plan), _accuracy(measured, plan), heads_section(out)]
    path = out / "README.md"
    path.write_text("\n\n".join(section for section in sections if section) + "\n")
    return path


# Stages that retrain the target in place after its first training, in the order they run before a target-tune.
RETRAINING_STAGES = ("tower-sharpen", "target-tune")


def build_records(out: Path) -> dict[str, dict]:
    """Each model's done-record; the target's phases include those of the stages that retrained it since, so
    their rows follow the target's in the training table."""
    records = {name: json.loads((checkpoints(out, name) / "done.json").read_text()) for name in MODELS}
    for stage in RETRAINING_STAGES:
        marker = checkpoints(out, stage) / "done.json"
        if marker.exists():
            records["target"]["phases"].update(json.loads(marker.read_text())["phases"])
    return records


def update_heads_section(out: Path) -> None:
    """Rewrite only the card's draft-heads section (the heads stage runs after the target's evaluation)."""
    path = out / "README.md"
    card = path.read_text() if path.exists() else ""
    start = card.find(HEADS_TITLE)
    if start < 0:  # a card without the section gets it at the end
        path.write_text(card.rstrip("\n") + "\n\n" + heads_section(out) + "\n")
        return
    end = card.find("\n## ", start + len(HEADS_TITLE))  # the section stays where it was, before the next one
    rest = "\n\n" + card[end + 1:] if end >= 0 else "\n"
    path.write_text(card[:start] + _with_session_notes(heads_section(out), card[start:end if end >= 0 else len(card)]) + rest)


def _with_session_notes(section: str, old_section: str) -> str:
    """The old section's hand-written paragraphs on how the heads were retrained ("Session N: ...") kept, above
    the new table: the table says what each head is now, they say which command made it."""
    notes = [paragraph for paragraph in old_section.split("\n\n") if paragraph.startswith("Session ")]
    table = section.find("\n\n| head |")
    if not notes or table < 0:
        return section
    return section[:table] + "\n\n" + "\n\n".join(note.strip("\n") for note in notes) + section[table:]


HEADS_TITLE = "## Draft heads"


def heads_section(out: Path) -> str:
    """One row per head folder: its recipe, size, cost and how often its top choice is the target's."""
    rows, pools = [], {}
    for folder in sorted(out.glob(f"*/{CONFIG_FILE}")):
        saved = json.loads(folder.read_text())
        record = saved.get("training", {})
        if not record:
            continue
        cost, accuracy = record["cost"], record["held_out_top1_by_depth"]
        pools.update(record["pool_sizes"])
        megabytes = _folder_megabytes(folder.parent)
        rows.append(
            f"| `{folder.parent.name}` | {record['recipe']['purpose']} | {megabytes:.1f} MB | {cost['steps']} | "
            f"{cost['cpu_seconds'] / 60:.1f} min | {' / '.join(f'{a:.3f}' for a in accuracy)} |"
        )
    if not rows:
        return ""
    text_pools = f"{pools['text']} text-only, " if "text" in pools else ""
    long_answers = (
        f" ViSpec's heads train on {pools['long_answers']} long answers the target itself generated (greedy detailed "
        "descriptions of world images and videos; `msd_demo/training/vision_heads.py`), so they never saw the held-out "
        "set's short answers (counts, colours, places, motion)." if "long_answers" in pools else ""
    )
    return (
        f"{HEADS_TITLE}\n\n"
        "EAGLE-style heads that draft from the target's own features (`msd_demo/engine/drafters/head_model.py`): one "
        "decoder layer as wide as the target's features (its MLP 256 wide, a third of the target's), borrowing the "
        "target's embedding and LM head (not stored). "
        "They learn the target, not the data: features and greedy choices come from the shipped target reading "
        f"world samples ({text_pools}{pools.get('multimodal', 0)} images and videos; "
        f"`msd_demo/training/heads.py`).{long_answers} Each trains on the target's true features and then on its own "
        "predictions in their place, as while drafting. Top-1: held-out share of answer tokens where the head's first "
        f"choice is the target's, drafting 1, 2, ... tokens ahead, as deep as the head was trained to draft (2 until "
        "session 36, 4 since: `heads.DEPTH`, `msd` from session 36, the other heads from session 37; "
        f"{pools['heldout']} fresh multimodal samples); for heads that draft two "
        "tokens a pass, a last figure: the second token of a pass, from the true features.\n\n"
        "| head | recipe | on disk | steps | CPU time | top-1 by depth (/ second token of a pass) |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows)
    )


def _header(command: str) -> str:
    return (
        "# MSD Demo: the shipped tiny models\n\n"
        "Trained from scratch on CPU on the synthetic shapes world (`msd_demo/world/`). Rebuild everything with:\n\n"
        "```\npython -m msd_demo.training\n```\n\n"
        "An interrupted build resumes from `.checkpoints/<stage>/` when the same command is run again. "
        f"This card was written by `{command}` (its eval stage measured the figures below)."
    )


def _architecture(plan: Plan) -> str:
    t, d = TARGET_SIZE, DRAFT_VLM_SIZE
    image_tokens = (IMAGE_SIZE // PATCH) ** 2
    thirds = (" The target reads a picture at least twice as wide as tall (or tall as wide) whole and then in thirds along "
              "its long side, each third an image of its own after the word that names it (`msd_demo/inputs/thirds.py`); "
              "video frames are never cut, and the draft VLM reads every picture whole.") if plan.picture_thirds else ""
    return (
        "## Architecture\n\n"
        "Stock transformers classes, loaded with the Auto classes. Pictures are resized to "
        f"{IMAGE_SIZE}x{IMAGE_SIZE}, squashed rather than padded to a square (padded, a 3:1 picture's shapes were too "
        "few pixels for the tower to tell apart; `msd_demo/training/plan.py` gives the figures), and cut into "
        f"{PATCH}x{PATCH} patches: {image_tokens} image tokens per frame; a video is {VIDEO_FRAMES} uniformly sampled "
        f"frames.{thirds} One byte-level BPE tokenizer (chat template, `</s>` ends each turn) for all three.\n\n"
        f"- `target`: LLaVA; CLIP vision tower {t.vision_hidden} wide x {t.vision_layers} layers; Llama text "
        f"{t.text_hidden} wide x {t.text_layers} layers, {t.heads} heads / {t.kv_heads} KV heads.\n"
        f"- `draft-vlm`: LLaVA, same image size and patches; a copy of the target's vision tower (frozen); "
        f"text {d.text_hidden} x {d.text_layers}, {d.heads} / {d.kv_heads} heads. Sees the image.\n"
        f"- `draft-text`: Llama LM {DRAFT_TEXT_SIZE['hidden']} x {DRAFT_TEXT_SIZE['layers']}, "
        f"{DRAFT_TEXT_SIZE['heads']} / {DRAFT_TEXT_SIZE['kv_heads']} heads. Never sees the image."
    )


def _folder_megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def _models_table(out: Path, records: dict, decode_ms: dict[str, float]) -> str:
    rows = [
        f"| `{name}` | {records[name]['parameters'] / 1e6:.2f} M | {_folder_megabytes(out / name):.1f} MB | {decode_ms[name]:.1f} ms |"
        for name in MODELS
    ]
    return (
        "## Models\n\n"
        "Weights are fp16 safetensors. Decode forward: median wall time of one cached single-token forward in "
        f"float32 on this machine's CPU ({torch.get_num_threads()} torch threads, the eval stage's `--threads`), after an "
        "image prompt (the text prompt for `draft-text`).\n\n"
        "| model | parameters | on disk | decode forward |\n|---|---|---|---|\n" + "\n".join(rows)
    )


def _data(plan: Plan) -> str:
    weights = ", ".join(f"{kind} {weight:.2f}" for kind, weight in KIND_WEIGHTS.items())
    return (
        "## Data\n\n"
        "Generated on the fly from the world's `train` split with fixed seeds, as a visitor brings them "
        "(`msd_demo/world/robust.py`, issue 21): questions in the training phrasings of the paraphrase grammar "
        "(`phrasings.py`), pictures drawn in varied styles and aspect ratios 1:4 to 4:1 (`render_varied.py`), "
        "grounded answers that first say what is seen (`grounded.py`), and off-topic requests with their fixed answer "
        "("
        f"seeds {', '.join(f'{k} {v}' for k, v in SEEDS.items())}); nothing is stored. Question kinds are drawn with "
        f"weights {weights} (videos {video_share():.0%} of samples); a batch of {plan.batch_size} is all images or "
        "all videos, right-padded to its longest sample, with the loss on the answer and its closing `</s>` only. "
        "Prompts are built by the runtime's own `build_prompt`, token for token what the models see at run time.\n\n"
        "`draft-text` learns the answer language first from text-only data (the scene written out in the "
        "question), then the world's image questions without their image: it knows the sentences and the priors, "
        "not what is in the picture."
    )


def _training_table(records: dict, plan: Plan) -> str:
    rows = []
    for name in MODELS:
        for phase, cost in records[name]["phases"].items():
            rows.append(
                f"| `{phase}` | {cost['steps']} | {cost['tokens'] / 1e6:.1f} M | "
                f"{cost['cpu_seconds'] / 60:.1f} min | {cost['wall_seconds'] / 60:.1f} min |"
            )
    return (
        f"## Training ({plan.name} plan)\n\n"
        "AdamW, linear warmup then cosine decay, gradient clipping at 1.0. CPU time is process CPU time (all "
        "threads), interruptions excluded.\n\n"
        f"Before its language training, the target's vision tower is pre-trained for {plan.vision_steps} steps, then "
        f"{plan.vision_wide_steps} more on every aspect ratio at half the learning rate, on varied pictures (squashed "
        "to a square) to name what is in each of the 3x3 cells (shape or empty; colour and size of a "
        "shape), read from the patch tokens the cell covers, weighted by how much of each lies in it, and the "
        "background family, with linear heads that are then dropped (`msd_demo/training/vision.py`); the tower is "
        "then frozen for the language stage (the target-tune trains it again, at "
        f"{plan.target_tune_tower_rate:g} peak, from the answers' lists of what is seen). Square pictures only for "
        "40% of the steps, then the widest aspect ratio grows to 4:1 (at 80%; with "
        "every aspect ratio from the start, shapes a few pixels tall in padded wide pictures kept the tower from "
        "learning shapes at all: 24% of occupied cells' shapes right after 1000 steps, chance). An MLP probe on the "
        "frozen tower after the curriculum named 3:1 pictures' shapes 67% right, 1:3 75%, squares 96%; after the "
        "second phase 72%, 78% and 96%. "
        "Without this pre-training the tiny LLaVA stayed blind: its loss sat at the level of the language prior "
        "(~0.5 nats/token) for 900 steps while the language loss washed the image features out. The draft VLM, "
        "built after the target-tune, starts from a copy of the target's tower, frozen: with a smaller tower of its own it named colours "
        "and sizes but got only 10% of held-out objects (shape, colour and place) right.\n\n"
        "| stage | steps | tokens | CPU time | wall time |\n|---|---|---|---|---|\n" + "\n".join(rows)
    )


def _accuracy(measured: dict, plan: Plan) -> str:
    return (
        "## Measured accuracy of `target`\n\n"
        "What a visitor brings (`msd_demo/training/robustness.py`): held-out phrasings x {training renderer, held-out "
        "renderer (separate drawing code)} x aspect ratios {1:1, 3:1, 1:3}, on held-out scenes (shades and "
        f"resolutions training never saw), {measured['examples_per_cell']} examples per kind and cell, greedy decoding; "
        f"plus {measured['off_topic_requests']} held-out off-topic requests. Right means every fact the question asks "
        "is stated right (describe: every object's colour, shape and place, nothing else; describe_video: that and "
        "every event; count: the number and what was counted; colour and where: the concluding sentence; exists: "
        "yes or no; motion: the direction). Issue 21's bar: >= 95% per kind, >= 90% on the held-out renderer at every "
        "aspect ratio, off-topic >= 95%. Measured by the build's eval stage; again with:\n\n"
        f"```\n{robustness.command('models/target', plan.eval_examples, plan.off_topic_examples)}\n```\n\n"
        + robustness.table(measured)
    )
