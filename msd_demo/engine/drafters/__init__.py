"""Drafting methods, one file each, behind the protocol in base.py."""

from msd_demo.engine.drafters.base import Draft, Drafter, DraftRequest
from msd_demo.engine.drafters.model import ModelDrafter
from msd_demo.engine.drafters.prompt_lookup import PromptLookupDrafter

# name -> (what drafts, where it comes from): shown in the CLI help and the app.
DRAFTER_DESCRIPTIONS = {
    "model": "a small VLM with the target's tokenizer that also sees the image (standard speculative decoding)",
    "text-only": "a small LM that sees only the text, never the image (Gagrani et al., CVPRW 2024)",
    "prompt-lookup": "n-gram copy from the prompt and the output so far; no model (training-free baseline)",
}

__all__ = ["DRAFTER_DESCRIPTIONS", "Draft", "DraftRequest", "Drafter", "ModelDrafter", "PromptLookupDrafter"]
