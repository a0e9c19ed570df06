"""Loading a model's processor, with an image-only fallback where its video processor needs torchvision.

Qwen2-VL and Qwen2.5-VL processors carry a video processor that transformers 5 builds with torchvision.
This app feeds a video's frames as a sequence of images, so where torchvision is missing (this project's
CPU machines) the same processor class without its video processor does the whole job.
"""

import importlib.util

import transformers
from transformers import AutoConfig, AutoProcessor, Qwen2VLProcessor
from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """Qwen2-VL's processor without its video processor (which needs torchvision); videos go in as images."""

    @classmethod
    def get_attributes(cls):
        return ["image_processor", "tokenizer"]


def torchvision_available() -> bool:
    return importlib.util.find_spec("torchvision") is not None


def load_processor(source: str, hub_options: dict | None = None, processor_options: dict | None = None):
    """AutoProcessor.from_pretrained; without torchvision, the image-only variant of the same class.

    hub_options: from_pretrained's (local_files_only); processor_options: settings of the processor (size).
    """
    hub_options, processor_options = hub_options or {}, processor_options or {}
    try:
        return AutoProcessor.from_pretrained(source, **hub_options, **processor_options)
    except (OSError, ImportError, ValueError) as error:
        image_only = None if torchvision_available() else image_only_processor_class(source, **hub_options)
        if image_only is None:
            raise
        try:
            return image_only.from_pretrained(source, **hub_options, **processor_options)
        except Exception:
            raise error from None


def image_only_processor_class(source: str, **options) -> type | None:
    """The model's processor class minus its video processor, or None when it has none to drop."""
    try:
        model_type = AutoConfig.from_pretrained(source, **options).model_type
    except (OSError, ValueError):
        return None
    processor_class = getattr(transformers, PROCESSOR_MAPPING_NAMES.get(model_type) or "", None)
    if processor_class is None or "video_processor" not in processor_class.get_attributes():
        return None
    if processor_class is Qwen2VLProcessor:
        return ImageOnlyQwen2VLProcessor
    attributes = [name for name in processor_class.get_attributes() if name != "video_processor"]
    return type(f"ImageOnly{processor_class.__name__}", (processor_class,),
                {"get_attributes": classmethod(lambda cls: attributes)})
