"""Drafting methods, one file each, behind the protocol in base.py."""

from msd_demo.engine.drafters.base import Draft, Drafter, DraftRequest
from msd_demo.engine.drafters.flash import FlashDrafter, head_drafter
from msd_demo.engine.drafters.head import DraftHead, HeadConfig, load_head, save_head
from msd_demo.engine.drafters.model import ModelDrafter
from msd_demo.engine.drafters.msd import HeadDrafter
from msd_demo.engine.drafters.prompt_lookup import PromptLookupDrafter

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

__all__ = [
    "DRAFTER_DESCRIPTIONS", "HEAD_DRAFTERS", "Draft", "DraftHead", "DraftRequest", "Drafter", "FlashDrafter", "HeadConfig",
    "HeadDrafter", "ModelDrafter", "PromptLookupDrafter", "head_drafter", "load_head", "save_head",
]
