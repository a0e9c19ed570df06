"""Processor + chat template -> Prompt: token ids, pixel tensors and the mask of visual-token positions."""

from dataclasses import dataclass, field

import torch

from msd_demo.errors import UserInputError
from msd_demo.inputs.media import Media
from msd_demo.inputs.square import pad_to_square, pads_to_square
from msd_demo.inputs.thirds import picture_thirds, reads_thirds
from msd_demo.limits import LIMITS


@dataclass
class Prompt:
    input_ids: torch.Tensor  # [1, L]
    model_inputs: dict = field(repr=False)  # everything the model's prefill forward takes (pixel_values, ...)
    visual_mask: torch.Tensor = field(repr=False)  # [L] bool: True where an image/video token stands

    @property
    def length(self) -> int:
        return self.input_ids.shape[1]

    @property
    def text_token_ids(self) -> list[int]:
        return self.input_ids[0][~self.visual_mask].tolist()


def check_question(question: str) -> str:
    question = (question or "").strip()
    if not question:
        raise UserInputError("the prompt is empty; ask a question about the image or video.")
    if len(question) > LIMITS.max_prompt_characters:
        raise UserInputError(
            f"the prompt has {len(question):,} characters; at most {LIMITS.max_prompt_characters:,} are allowed."
        )
    return question


def check_prompt_tokens(processor, question: str) -> None:
    """The token limit, counted by the model's own tokenizer (the character limit came first, and is cheap)."""
    tokenizer = getattr(processor, "tokenizer", processor)
    count = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    if count > LIMITS.max_prompt_tokens:
        raise UserInputError(f"the prompt is {count:,} tokens long; at most {LIMITS.max_prompt_tokens:,} are allowed.")


def build_prompt(processor, question: str, media: Media | None, device: torch.device, image_token_id=None) -> Prompt:
    """A chat prompt for one user turn; video frames go in as a sequence of images.

    processor is a multimodal processor, or a tokenizer for a text-only model (media must then be None).
    Frames are padded to squares first when the processor asks for it (square.py); a wide or tall picture is
    followed by its named thirds when the processor asks for that (thirds.py).
    """
    question = check_question(question)
    check_prompt_tokens(processor, question)
    if media is None:
        messages = [{"role": "user", "content": question}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = processor(text, return_tensors="pt", add_special_tokens=_template_lacks_bos(processor, text))
    else:
        frames, content = _media_parts(processor, media)
        content = content + [{"type": "text", "text": question}]
        messages = [{"role": "user", "content": content}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = processor(
            text=text, images=frames, return_tensors="pt", add_special_tokens=_template_lacks_bos(processor, text)
        )
    model_inputs = {name: value.to(device) for name, value in inputs.items() if isinstance(value, torch.Tensor)}
    input_ids = model_inputs["input_ids"]
    visual_mask = input_ids[0] == image_token_id if image_token_id is not None else torch.zeros_like(input_ids[0], dtype=torch.bool)
    return Prompt(input_ids=input_ids, model_inputs=model_inputs, visual_mask=visual_mask.cpu())


def _media_parts(processor, media: Media) -> tuple[list, list[dict]]:
    """The images the processor reads and the message parts that place them: one image a frame, and after a
    picture its thirds, each after its name, when the model reads thirds."""
    frames = [pad_to_square(f) for f in media.frames] if pads_to_square(processor) else list(media.frames)
    content = [{"type": "image"} for _ in frames]
    if media.is_video or not reads_thirds(processor):
        return frames, content
    for name, third in picture_thirds(frames[0]):
        frames.append(third)
        content += [{"type": "text", "text": name}, {"type": "image"}]
    return frames, content


def _template_lacks_bos(processor, text: str) -> bool:
    # Some chat templates write the BOS token themselves (adding another would change the prompt), others
    # (LLaVA-1.5) rely on the tokenizer to add it.
    tokenizer = getattr(processor, "tokenizer", processor)
    bos = tokenizer.bos_token
    return bos is not None and not text.startswith(bos)
