"""MSD Demo: see and measure speculative decoding on multimodal LLMs."""

__version__ = "0.1.0"
