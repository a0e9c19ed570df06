"""Drafting methods, one file each, behind the protocol in base.py."""

from msd_demo.engine.drafters.base import Draft, Drafter, DraftRequest
from msd_demo.engine.drafters.flash_drafter import FlashDrafter, head_drafter
from msd_demo.engine.drafters.head_drafter import HeadDrafter
from msd_demo.engine.drafters.head_model import DraftHead, HeadConfig, load_head, save_head
from msd_demo.engine.drafters.model import ModelDrafter
from msd_demo.engine.drafters.prompt_lookup import PromptLookupDrafter

__all__ = [
    "Draft", "DraftHead", "DraftRequest", "Drafter", "FlashDrafter", "HeadConfig",
    "HeadDrafter", "ModelDrafter", "PromptLookupDrafter", "head_drafter", "load_head", "save_head",
]
