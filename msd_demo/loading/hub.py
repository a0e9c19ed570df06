"""Loading from the Hugging Face hub: where the weights go, whether they fit, and errors a person can act on.

A hub preset downloads gigabytes on first use, may need more memory than the machine has, and may be
asked for on a machine with no network. Each of these becomes one clear UserInputError, never a traceback.
"""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import torch

from msd_demo.errors import UserInputError

GIGABYTE = 1e9
PROBE_SECONDS = 3.0  # one TCP connect: without it, an unreachable hub costs a minute of retries per file
MEMORY_HEADROOM = 1.1  # weights plus buffers and the first KV caches


class ModelUnavailableError(UserInputError):
    """The model cannot be had here: hub unreachable, gated or missing repo, or too little memory."""


def is_local(source: str | Path) -> bool:
    return Path(source).exists()


def hub_unreachable_reason() -> str | None:
    """Why the hub cannot be reached, or None when it can (checked once per load, quickly)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    endpoint = urlparse(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=PROBE_SECONDS).close()
    except OSError:
        return f"no network connection to {endpoint.hostname}"
    return None


def loading_options(source: str | Path) -> tuple[dict, str | None]:
    """from_pretrained options, and why the hub is unreachable (then only the local cache is used)."""
    if is_local(source):
        return {}, None
    reason = hub_unreachable_reason()
    return ({"local_files_only": True} if reason else {}), reason


@contextmanager
def hub_errors(source: str | Path, unreachable_reason: str | None) -> Iterator[None]:
    """Turn what from_pretrained raises into one line that says what to do."""
    try:
        yield
    except torch.OutOfMemoryError:
        raise ModelUnavailableError(
            f"ran out of memory while loading {source}; choose a smaller preset (tiny) or a device with more memory."
        ) from None
    except (OSError, ValueError) as error:
        raise ModelUnavailableError(_explain(source, error, unreachable_reason)) from None


def _explain(source, error: Exception, unreachable_reason: str | None) -> str:
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    causes = list(_causes(error))
    if unreachable_reason or any(isinstance(cause, LocalEntryNotFoundError) for cause in causes):
        reason = unreachable_reason or "the hub is unreachable"
        return (f"could not download {source}: the hub is unreachable ({reason}) and the model is not in the local "
                "cache; connect to the internet (and unset HF_HUB_OFFLINE), or choose the tiny preset.")
    if any(isinstance(cause, GatedRepoError) for cause in causes) or "gated repo" in str(error):
        return (f"{source} is a gated model: accept its licence at https://huggingface.co/{source} and set HF_TOKEN "
                "(on a Space: a secret) to a token of an account with access.")
    if any(isinstance(cause, RepositoryNotFoundError) for cause in causes):
        return f"{source} was not found on the hub (a typo, or a private repo: then set HF_TOKEN)."
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "custom code" in reason or "trust_remote_code" in reason:
        reason = "it needs to run code of its own (trust_remote_code), which this app never does"
    return f"could not load model {source}: {reason}"


def _causes(error: BaseException | None) -> Iterator[BaseException]:
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def device_map_for(device: torch.device) -> str | dict | None:
    """accelerate's device_map: split a model over every GPU when there are several, else load it straight
    onto the one device. None (load, then .to(device)) on CPU and on ZeroGPU, which moves weights itself."""
    if device.type != "cuda" or os.environ.get("SPACES_ZERO_GPU"):
        return None
    return "auto" if torch.cuda.device_count() > 1 else {"": device}


def parameter_bytes(model_class, source: str | Path, dtype: torch.dtype, options: dict) -> int:
    """What the weights will take in dtype, from the config alone (built on the meta device: no memory)."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(source), **options)
    with init_empty_weights():
        model = model_class.from_config(config)
    return sum(parameter.numel() for parameter in model.parameters()) * dtype.itemsize


def free_memory_bytes(device: torch.device, device_map) -> int | None:
    """Free memory where the weights will go; None when it cannot be asked (ZeroGPU's main process)."""
    if os.environ.get("SPACES_ZERO_GPU"):
        return None  # no GPU is attached while models load; ZeroGPU's own limits apply
    try:
        if device.type == "cuda":
            gpus = range(torch.cuda.device_count()) if device_map == "auto" else [device.index or 0]
            return sum(torch.cuda.mem_get_info(gpu)[0] for gpu in gpus)
        return _available_ram_bytes()
    except (RuntimeError, ValueError, OSError, AttributeError):
        return None


def _available_ram_bytes() -> int:
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():  # Linux: MemAvailable counts the page cache that can be given back
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits(source: str | Path, needed_bytes: int, free_bytes: int | None, where: str) -> None:
    if free_bytes is not None and needed_bytes * MEMORY_HEADROOM > free_bytes:
        raise ModelUnavailableError(
            f"{source} needs about {needed_bytes / GIGABYTE:.1f} GB for its weights but only "
            f"{free_bytes / GIGABYTE:.1f} GB of {where} memory are free; choose a smaller preset (tiny) or a "
            "machine with more memory (README: Hub models lists what each preset needs)."
        )
