"""The CPU verify path (verify_linear.py): the same outputs as nn.Linear, only where it pays, and on the shipped
target, whose speculative runs in test_shipped_models.py must stay identical to target-only through it."""

import pytest
import torch
from torch import nn

from msd_demo.loading import verify_linear
from msd_demo.loading.verify_linear import MOST_ROWS, VerifyLinear, pack_for_verification
from msd_demo.presets.lineup import load_lineup


class TinyVLM(nn.Module):
    """Named like a LLaVA: a vision tower, a language model's layers, an LM head."""

    def __init__(self, width=256, dtype=torch.float32):
        super().__init__()
        self.vision_tower = nn.Sequential(nn.Linear(width, 3 * width))
        self.language_model = nn.Sequential(nn.Linear(width, 3 * width), nn.Linear(3 * width, width), nn.Linear(width, width))
        self.lm_head = nn.Linear(width, 2 * width, bias=False)
        self.to(dtype)


def test_packed_layers_give_what_the_stock_layers_give_for_any_number_of_rows():
    torch.manual_seed(0)
    model = TinyVLM()
    inputs = [torch.randn(1, rows, 256) for rows in (0, 1, 2, 5, 17, MOST_ROWS, MOST_ROWS + 1, 300)]
    before = [model.lm_head(x) for x in inputs]
    state = {name: value.clone() for name, value in model.state_dict().items()}
    assert pack_for_verification(model) == 3  # the language model's two large layers and the LM head
    assert isinstance(model.lm_head, VerifyLinear) and isinstance(model.language_model[0], VerifyLinear)
    assert type(model.language_model[2]) is nn.Linear and type(model.vision_tower[0]) is nn.Linear  # small; the tower
    after = [model.lm_head(x) for x in inputs]
    for x, want, got in zip(inputs, before, after):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5, msg=f"{x.shape[1]} rows")
    assert model.state_dict().keys() == state.keys()  # saving and loading see the same module
    assert all(torch.equal(model.state_dict()[name], value) for name, value in state.items())


def test_nothing_is_packed_where_it_would_not_pay_or_fit(monkeypatch):
    assert pack_for_verification(TinyVLM(dtype=torch.bfloat16)) == 0
    assert pack_for_verification(TinyVLM(width=64)) == 0  # every layer below the size worth packing
    monkeypatch.setattr(verify_linear, "PACKED_BYTES_LIMIT", 1024)
    model = TinyVLM()
    assert pack_for_verification(model) == 0 and not any(isinstance(m, VerifyLinear) for m in model.modules())


@pytest.mark.slow
def test_the_shipped_target_verifies_through_packed_layers():
    target = load_lineup("tiny").target.model
    packed = [name for name, module in target.named_modules() if isinstance(module, VerifyLinear)]
    assert packed and all("vision_tower" not in name for name in packed)
    assert any(name.endswith("mlp.down_proj") for name in packed) and any(name.endswith("lm_head") for name in packed)
