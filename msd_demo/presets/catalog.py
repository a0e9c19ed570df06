"""The presets: which target and which draft models make up a lineup, and which drafters exist. Plain data,
no models: the allow-list of sources and the CLI's listing read it without loading anything."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from msd_demo.errors import UserInputError
from msd_demo.limits import LIMITS

# name -> (what drafts, where it comes from): shown in the CLI help and the app.
DRAFTER_DESCRIPTIONS = {
    "model": "a small VLM with the target's tokenizer that also sees the image (standard speculative decoding)",
    "text-only": "a small LM that sees only the text, never the image (Gagrani et al., CVPRW 2024)",
    "prompt-lookup": "n-gram copy from the prompt and the output so far; no model (training-free baseline)",
    "msd": "a one-layer head on the target's features; visual tokens enter through their own projection of the target's "
    "visual embeddings (beside its feature), text tokens fused with its features; text then multimodal training "
    "(MSD, Lin et al. 2025)",
    "msd-no-decoupling": "msd ablation: visual positions are fused like text tokens (no decoupling)",
    "msd-multimodal-only": "msd ablation: one stage on multimodal data only (no text stage)",
    "msd-text-stage-only": "msd ablation: stage one only, text data (no multimodal stage)",
    "msd-visual-embedding-only": "msd ablation: visual tokens enter as the visual embeddings alone, without the target's feature",
    "vispec": "a head with a vision adaptor: the image compressed into a few learned queries where it stood, and a global "
    "image feature added to every text input; trained on the target's own long answers (ViSpec, Kang et al. 2025)",
    "vispec-no-adaptor": "vispec ablation: every visual token enters, no queries and no global feature",
    "flash": "a head over a few latent queries of the visual tokens that drafts two tokens per pass of its layer "
    "(semi-autoregressive; FLASH, 2025)",
    "flash-no-compression": "flash ablation: every visual token enters (no latent queries)",
    "flash-one-token": "flash ablation: one token per pass",
}
# Drafters that are heads on the target's features, each with its weights in a folder of its own.
HEAD_DRAFTERS = (
    "msd", "msd-no-decoupling", "msd-multimodal-only", "msd-text-stage-only", "msd-visual-embedding-only",
    "vispec", "vispec-no-adaptor", "flash", "flash-no-compression", "flash-one-token",
)

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"  # the shipped tiny models (MSD_MODELS_DIR: startup.py)
# Drafters that run a model of their own, and whether that model sees the image.
MODEL_DRAFTERS = {"model": True, "text-only": False}


@dataclass(frozen=True)
class Preset:
    name: str
    target: str
    draft_models: dict[str, str] = field(default_factory=dict)  # drafter name -> model (or head) folder or hub id
    description: str = ""
    hardware: str = ""
    size: str = ""  # parameters of the target and of each draft model
    video_frames: int = field(default_factory=lambda: LIMITS.video_frames)  # frames per video: what the target was trained to see
    visual_words_file: str | None = None  # words that name what is seen, one a line (for alpha by word class)
    processor_options: dict = field(default_factory=dict)  # e.g. an image size limit, for the VLMs' processors
    # Drafters that are the seeds' released heads (drafter -> key-table format, loading/released_heads.py).
    released_heads: dict[str, str] = field(default_factory=dict)
    # The tree a drafter drafts when a tree is asked for without its shape: drafter -> (top_k, depth, nodes).
    tree_defaults: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    # The app's and `run`'s default cap on new tokens: room for the target's usual answer (a run ends at EOS).
    answer_tokens: int = 128

    @property
    def default_max_new_tokens(self) -> int:
        return min(self.answer_tokens, LIMITS.max_new_tokens)

    @property
    def drafters(self) -> list[str]:
        return [name for name in DRAFTER_DESCRIPTIONS if name in self.draft_models or name == "prompt-lookup"]

    def visual_words(self) -> frozenset[str]:
        if self.visual_words_file is None or not Path(self.visual_words_file).is_file():
            return frozenset()
        return frozenset(Path(self.visual_words_file).read_text().split())


# The tiny target's grounded answers list what they see before answering: a motion answer lists the first and the
# last frame (held-out answers up to about 290 tokens); 128 would cut three motion answers in four before the direction.
TINY_ANSWER_TOKENS = 320


def tiny_preset(models_dir: str | Path = MODELS_DIR) -> Preset:
    models_dir = Path(models_dir)
    # Heads are trained for this target: offered where their folder exists (a retrained target may lack them).
    heads = {name: str(models_dir / name) for name in HEAD_DRAFTERS if (models_dir / name).is_dir()}
    return Preset(
        name="tiny",
        target=str(models_dir / "target"),
        draft_models={"model": str(models_dir / "draft-vlm"), "text-only": str(models_dir / "draft-text"), **heads},
        description="the shipped tiny models trained on the shapes world (models/)",
        hardware="CPU",
        size=_tiny_sizes(models_dir, heads),
        video_frames=6,
        visual_words_file=str(models_dir / "visual_words.txt"),
        answer_tokens=TINY_ANSWER_TOKENS,
    )


# The papers' trees, in our terms (tree.TreeConfig: depth counts drafted levels, nodes the drafted nodes). The
# authors' EAGLE-2 code drafts depth + 1 levels and verifies total_token - 1 nodes beside the root.
# MSD (EAGLE/eagle/model/ea_model.py, lmms-eval llava_msd.py): depth 5, top-k 10, total_token chosen at start-up
# among 40..60 by timing the target (60 on large GPUs, EAGLE-2's default): 6 levels, 59 nodes.
MSD_TREE = (10, 6, 59)
# ViSpec (vispec/model/spec_model_ours.py, exp.sh): depth 3, top-k 8, total_token 30: 4 levels, 29 nodes.
VISPEC_TREE = (8, 4, 29)
MSD_LLAVA_7B, MSD_LLAVA_13B = "lucylyn/MSD-LLaVA1.5-7B", "lucylyn/MSD-LLaVA1.5-13B"
MSD_QWEN2VL = "lucylyn/MSD-Qwen2VL-7B-Instruct"
VISPEC_LLAVA_15, VISPEC_LLAVA_16 = "JLKang/ViSpec-llava-1.5-7b-hf", "JLKang/ViSpec-llava-v1.6-vicuna-7b-hf"
VISPEC_QWEN25VL = "JLKang/ViSpec-Qwen2.5-VL-7B-Instruct"
# MSD's LLaVA-1.5 images were padded to a square with the CLIP mean ("pad"), as LLaVA-1.5 itself was trained.
LLAVA_15_PAD = {"do_pad": True}
# At most 512 visual tokens an image (a frame): Qwen's default allows 16,000 for a 12 MP photo.
QWEN_IMAGE_SIZE = {"size": {"longest_edge": 512 * 28 * 28, "shortest_edge": 4 * 28 * 28}}
LLAVA_HARDWARE = "one GPU with 24 GB or more (A10G, L4, L40S, A100, H100), or ZeroGPU"

# Hub presets: the same code path, weights from the hub on first use (sizes: parameters; bf16 = 2 bytes each).
HUB_PRESETS = [
    Preset(
        name="llava-interleave",
        target="llava-hf/llava-interleave-qwen-7b-hf",
        draft_models={"model": "llava-hf/llava-interleave-qwen-0.5b-hf"},
        description="LLaVA-Interleave (Qwen1.5 + SigLIP), 7B target, 0.5B LLaVA-Interleave draft with the same "
                    "tokenizer and image tokens",
        hardware="one GPU with 24 GB or more (A10G, L4, L40S, A100, H100), or ZeroGPU",
        size="target 8.1B, draft 0.9B: about 18 GB in bf16",
    ),
    Preset(
        name="qwen2.5-vl",
        target="Qwen/Qwen2.5-VL-7B-Instruct",
        draft_models={"model": "Qwen/Qwen2.5-VL-3B-Instruct", "text-only": "Qwen/Qwen2.5-0.5B-Instruct",
                      "vispec": VISPEC_QWEN25VL},
        description="Qwen2.5-VL 7B target (M-RoPE); Qwen2.5-VL 3B draft (vocabulary padded differently: drafts "
                    "over the shared ids), a text-only Qwen2.5 0.5B draft and ViSpec's released head",
        hardware="one GPU with 40 GB or more (A100, L40S, H100), two 24 GB GPUs (device_map), or ZeroGPU",
        size="target 8.3B, drafts 3.8B and 0.5B, head 1.2B: about 28 GB in bf16",
        processor_options=QWEN_IMAGE_SIZE,
        released_heads={"vispec": "vispec"},
        tree_defaults={"vispec": VISPEC_TREE},
    ),
    Preset(
        name="llava-1.5",
        target="llava-hf/llava-1.5-7b-hf",
        draft_models={"text-only": "double7/vicuna-68m", "msd": MSD_LLAVA_7B, "vispec": VISPEC_LLAVA_15},
        description="LLaVA-1.5 7B (Vicuna + CLIP) with a 68M Vicuna text-only draft, as in Gagrani et al. (2024), and "
                    "the MSD and ViSpec authors' released heads",
        hardware=LLAVA_HARDWARE,
        size="target 7.1B, draft 0.07B, heads 0.4B each: about 16 GB in bf16",
        video_frames=4,  # 576 image tokens a frame in a 4,096-token context
        processor_options=LLAVA_15_PAD,
        released_heads={"msd": "msd-llava", "vispec": "vispec"},
        tree_defaults={"msd": MSD_TREE, "vispec": VISPEC_TREE},
    ),
    Preset(
        name="qwen2-vl",
        target="Qwen/Qwen2-VL-7B-Instruct",
        draft_models={"model": "Qwen/Qwen2-VL-2B-Instruct", "msd": MSD_QWEN2VL},
        description="Qwen2-VL 7B target (M-RoPE); Qwen2-VL 2B draft and MSD's released head",
        hardware="one GPU with 40 GB or more (A100, L40S, H100), two 24 GB GPUs (device_map), or ZeroGPU",
        size="target 8.3B, draft 2.2B, head 1.2B: about 23 GB in bf16",
        processor_options=QWEN_IMAGE_SIZE,
        released_heads={"msd": "msd-qwen2vl"},
        tree_defaults={"msd": MSD_TREE},
    ),
    Preset(
        name="llava-1.5-13b",
        target="llava-hf/llava-1.5-13b-hf",
        draft_models={"msd": MSD_LLAVA_13B},
        description="LLaVA-1.5 13B (Vicuna + CLIP) with MSD's released head",
        hardware="one GPU with 40 GB or more (A100, L40S, H100), two 24 GB GPUs (device_map), or ZeroGPU",
        size="target 13.4B, head 0.6B: about 28 GB in bf16",
        video_frames=4,
        processor_options=LLAVA_15_PAD,
        released_heads={"msd": "msd-llava"},
        tree_defaults={"msd": MSD_TREE},
    ),
    Preset(
        name="llava-1.6",
        target="llava-hf/llava-v1.6-vicuna-7b-hf",
        draft_models={"vispec": VISPEC_LLAVA_16},
        description="LLaVA-NeXT (LLaVA-1.6) Vicuna 7B, any-resolution tiles, with ViSpec's released head",
        hardware=LLAVA_HARDWARE,
        size="target 7.1B, head 0.4B: about 16 GB in bf16",
        video_frames=1,  # up to 2,928 image tokens an image in a 4,096-token context
        released_heads={"vispec": "vispec"},
        tree_defaults={"vispec": VISPEC_TREE},
    ),
]


def _tiny_sizes(models_dir: Path, heads: dict[str, str]) -> str:
    """Parameters read from the shipped files (a retrained set describes itself), and the folder's size."""
    def millions(count: int) -> str:
        return f"{count / 1e6:.1f}M"

    head_counts = sorted(folder_parameters(Path(folder)) for folder in heads.values())
    heads_text = f", heads {millions(head_counts[0])} to {millions(head_counts[-1])} parameters each" if head_counts else ""
    target, draft_vlm, draft_text = (folder_parameters(models_dir / name) for name in ("target", "draft-vlm", "draft-text"))
    return (f"target {millions(target)}, drafts {millions(draft_vlm)} and {millions(draft_text)}{heads_text} "
            f"({_megabytes(models_dir):.0f} MB)")


def folder_parameters(folder: Path) -> int:
    """Parameters in a folder's safetensors files, from their headers alone (8 bytes of length, then JSON)."""
    total = 0
    for file in folder.glob("*.safetensors") if folder.is_dir() else []:
        with file.open("rb") as stream:
            header = json.loads(stream.read(int.from_bytes(stream.read(8), "little")))
        total += sum(math.prod(entry["shape"]) for name, entry in header.items() if name != "__metadata__")
    return total


def _megabytes(folder: Path) -> float:
    files = [f for f in folder.rglob("*") if f.is_file() and ".checkpoints" not in f.parts] if folder.is_dir() else []
    return sum(f.stat().st_size for f in files) / 2**20


PRESETS = {"tiny": tiny_preset(), **{preset.name: preset for preset in HUB_PRESETS}}


def get_preset(name: str, models_dir: str | Path | None = None) -> Preset:
    """models_dir replaces the tiny preset's models/ folder (tests, retrained models)."""
    if name not in PRESETS:
        raise UserInputError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    return tiny_preset(models_dir) if models_dir is not None and name == "tiny" else PRESETS[name]




def preset_sources() -> frozenset[str]:
    """Every model a preset names: the allow-list of hub ids."""
    return frozenset(source for preset in PRESETS.values() for source in (preset.target, *preset.draft_models.values()))
