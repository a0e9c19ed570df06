"""Loading a model with its processor, and what the engine needs to know about it."""

from dataclasses import dataclass, field
from pathlib import Path

import torch

from msd_demo.inputs.media import Media
from msd_demo.inputs.prompt import Prompt, build_prompt
from msd_demo.loading import hub
from msd_demo.loading.processors import load_processor
from msd_demo.loading.sources import check_model_source


@dataclass
class LoadedModel:
    name: str
    model: torch.nn.Module
    processor: object  # a multimodal processor, or the tokenizer of a text-only model
    _pieces: dict = field(default_factory=dict, repr=False)

    @property
    def tokenizer(self):
        return getattr(self.processor, "tokenizer", self.processor)

    @property
    def device(self) -> torch.device:
        """Where inputs go: the input embedding's device (a model split over GPUs starts there)."""
        return input_device(self.model)

    @property
    def is_multimodal(self) -> bool:
        return self.image_token_id is not None

    @property
    def image_token_id(self) -> int | None:
        return getattr(self.model.config, "image_token_id", None)

    @property
    def vocab_size(self) -> int:
        """Width of the logits (may exceed the tokenizer's vocabulary by padding)."""
        return self.model.get_output_embeddings().weight.shape[0]

    @property
    def eos_token_ids(self) -> frozenset[int]:
        ids = self.model.generation_config.eos_token_id
        ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return frozenset(ids)

    def prompt(self, question: str, media: Media | None) -> Prompt:
        return build_prompt(self.processor, question, media if self.is_multimodal else None, self.device, self.image_token_id)

    def piece(self, token_id: int) -> str:
        """The text of one token (cached: the loop asks for the same few ids again and again)."""
        text = self._pieces.get(token_id)
        if text is None:
            text = self._pieces[token_id] = self.tokenizer.decode([token_id])
        return text

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)


def input_device(model: torch.nn.Module) -> torch.device:
    embeddings = model.get_input_embeddings()
    return embeddings.weight.device if embeddings is not None else model.device


def single_device_map(device: torch.device) -> dict | None:
    """Everything on one device (None where device_map_for says load, then move: the CPU, ZeroGPU)."""
    return None if hub.device_map_for(device) is None else {"": device}


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_model(
    source: str | Path, multimodal: bool, device: torch.device | None = None, dtype=None, device_map="default",
    processor_options: dict | None = None,
) -> LoadedModel:
    """from_pretrained for a local folder or an allowed hub id, never running the model's own code; a clear error
    when it cannot be had.

    device_map: accelerate's placement ("auto" splits a model over several GPUs); "default" picks it from the
    device (hub.device_map_for), None loads on the CPU and then moves the model to device.
    processor_options: settings for a multimodal processor (e.g. Qwen's image size limits).
    """
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # stderr is for errors (the CLI contract): one clear line each
    check_model_source(source)
    device = device or default_device()
    dtype = dtype or default_dtype(device)
    device_map = hub.device_map_for(device) if device_map == "default" else device_map
    model_class = AutoModelForImageTextToText if multimodal else AutoModelForCausalLM
    options, unreachable_reason = hub.loading_options(source)
    options = {**options, "trust_remote_code": False}
    with hub.hub_errors(source, unreachable_reason):
        hub.check_fits(source, hub.parameter_bytes(model_class, source, dtype, options),
                       hub.free_memory_bytes(device, device_map), "GPU" if device.type == "cuda" else "CPU")
        if multimodal:
            processor = load_processor(str(source), options, processor_options)
        else:
            processor = AutoTokenizer.from_pretrained(str(source), **options)
        model = model_class.from_pretrained(str(source), dtype=dtype, device_map=device_map, **options)
        if device_map is None:
            model.to(device)
    model.eval()
    return LoadedModel(name=str(source), model=model, processor=processor)
