"""On the CPU, the target's verify forwards (a few rows) through oneDNN's prepacked weights.

Speculative decoding pays when the target checks gamma + 1 tokens for about the price of one. On the CPU
the stock float32 linear (MKL) is far from that for a few rows: a 256 x 768 layer costs about three times
as much for 5 rows as for 1 (session 35, 2-core AMD EPYC), while oneDNN with the weight prepacked for a
small batch takes 5 rows for about twice the cost of one. One row (a target-only step, a drafted token)
and long inputs (the prompt) keep the stock path, where it is the faster one; a verify's few rows
go through the packed copy. Measured with the bench (msd, gamma 4, the tiny models): verify 8.3 -> 7.3 ms a
step, and the same tokens as target-only.

The packed copy is made once, after loading, for inference only (the weights must not change after it);
it doubles the memory of the layers it covers, so it is made only below PACKED_BYTES_LIMIT.
"""

import torch
from torch import nn

PACKED_BATCH_HINT = 5  # gamma 4 + 1: oneDNN picks the weight's layout for this many rows (any count works)
MOST_ROWS = 64  # above it (a prompt, a large tree), the stock path
SMALLEST_WEIGHT = 256 * 512  # smaller layers gain nothing: oneDNN's fixed cost eats the difference
PACKED_BYTES_LIMIT = 512 * 2**20  # the copies' memory, at most (a hub model on the CPU goes without)


class VerifyLinear(nn.Linear):
    """An nn.Linear whose forwards of 2..MOST_ROWS rows use a oneDNN copy of its weight, packed once."""

    packed: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // self.in_features
        if rows <= 1 or rows > MOST_ROWS:  # also an empty input: oneDNN is not asked for zero rows
            return super().forward(x)
        y = torch.ops.mkldnn._linear_pointwise(x.reshape(rows, self.in_features), self.packed, self.bias, "none", [], "")
        return y.view(*x.shape[:-1], self.out_features)


def pack_for_verification(model: nn.Module) -> int:
    """Turns the language model's large float32 CPU linears into VerifyLinear in place; returns how many.
    Nothing changes where oneDNN is missing, on a GPU, in other dtypes or above the memory limit."""
    # The vision tower reads whole frames (many rows) once per prompt: nothing to gain there.
    tower = {id(m) for name, part in model.named_modules() if name.endswith(("vision_tower", "visual")) for m in part.modules()}
    layers = [module for module in model.modules() if _worth_packing(module) and id(module) not in tower]
    if not layers or not _available() or sum(layer.weight.nbytes for layer in layers) > PACKED_BYTES_LIMIT:
        return 0
    with torch.no_grad():
        for layer in layers:
            layer.packed = torch.ops.mkldnn._reorder_linear_weight(layer.weight.detach(), PACKED_BATCH_HINT)
            layer.__class__ = VerifyLinear  # the same module, weights and state dict: only its forward differs
    return len(layers)


def _worth_packing(module: nn.Module) -> bool:
    return (type(module) is nn.Linear and module.weight.device.type == "cpu" and module.weight.dtype == torch.float32
            and module.weight.numel() >= SMALLEST_WEIGHT)


def _available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
