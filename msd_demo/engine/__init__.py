"""The decoding engine: target-only and speculative decoding as generators of Step events."""

from msd_demo.engine.decoding import DecodeConfig, speculative, target_only
from msd_demo.engine.events import Candidate, DraftToken, Step, Token
from msd_demo.engine.sampling import SamplingConfig

__all__ = ["Candidate", "DecodeConfig", "DraftToken", "SamplingConfig", "Step", "Token", "speculative", "target_only"]
