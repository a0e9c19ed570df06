"""The seeing probe: it reads each cell's own patch tokens, learns what they hold, and reports per renderer and aspect."""

import json
from types import SimpleNamespace

import pytest
import torch
from transformers import LlavaForConditionalGeneration

from msd_demo.training import architectures as arch
from msd_demo.training import seeing
from msd_demo.training.vision import ATTRIBUTES, EMPTY, NO_LABEL
from tests.tiny_models import build_tokenizer


class NumberedTower:
    """A stand-in tower (not ours to test) whose last layer's token i is [i, i]: the CLS token, then the patches."""

    def __call__(self, pixel_values, output_hidden_states):
        tokens = torch.arange(37, dtype=torch.float32).repeat_interleave(2).view(1, 37, 2)
        return SimpleNamespace(hidden_states=[tokens.expand(len(pixel_values), -1, -1)])


def test_a_cell_reads_the_patches_it_covers_in_reading_order():
    cells = seeing.cell_tokens(NumberedTower(), torch.zeros(2, 3, 192, 192))
    assert cells.shape == (2, 9, 8)  # 2x2 patches of width 2 per cell
    patch = lambda row, col: 1 + row * 6 + col  # noqa: E731 - CLS is token 0
    assert cells[0, 0, ::2].tolist() == [patch(0, 0), patch(0, 1), patch(1, 0), patch(1, 1)]
    assert cells[1, 5, ::2].tolist() == [patch(2, 4), patch(2, 5), patch(3, 4), patch(3, 5)]  # middle row, right
    llava_next = seeing.cell_tokens(NumberedTower(), torch.zeros(2, 4, 3, 192, 192))  # tiles: the first view is read
    assert torch.equal(llava_next, cells)


def test_a_patch_grid_the_cells_do_not_divide_is_refused_with_the_reason():
    class FourByFour(NumberedTower):
        def __call__(self, pixel_values, output_hidden_states):
            return SimpleNamespace(hidden_states=[torch.zeros(len(pixel_values), 17, 2)])

    with pytest.raises(ValueError, match="3x3 cells divide; this tower has 16 patches"):
        seeing.cell_tokens(FourByFour(), torch.zeros(1, 3, 32, 32))


def test_the_reader_learns_what_the_tokens_hold_and_is_scored_per_object():
    """Tokens that carry their cell's kind and colour one-hot: the probe learns them; a wrong guess counts."""
    kinds, colours = len(ATTRIBUTES["kind"]), len(ATTRIBUTES["colour"])
    generator = torch.Generator().manual_seed(0)
    kind = torch.randint(0, kinds, (64, 9), generator=generator)
    colour = torch.randint(0, colours, (64, 9), generator=generator)
    empty = kind == ATTRIBUTES["kind"].index(EMPTY)
    colour[empty] = NO_LABEL
    tokens = torch.cat([torch.nn.functional.one_hot(kind, kinds), torch.nn.functional.one_hot(colour.clamp(min=0), colours)], -1).float()
    labels = {"kind": kind, "colour": colour}
    reader = seeing.train_reader(tokens, labels, steps=200, seed=0)
    result = seeing.score(reader, tokens, labels)
    assert result["objects"] == int((~empty).sum())
    assert result["shape_right"] == result["colour_right"] == 1.0 and result["missed"] == result["invented"] == 0.0
    blind = seeing.score(seeing.train_reader(torch.zeros_like(tokens), labels, steps=50, seed=0), torch.zeros_like(tokens), labels)
    assert blind["shape_right"] < 0.5


@pytest.mark.slow
def test_the_command_reports_every_renderer_and_aspect(tmp_path, capsys):
    tokenizer = build_tokenizer()
    processor = arch.llava_processor(tokenizer, 96, 32)  # 3x3 patches: a patch per cell
    text = arch.llama_config(tokenizer, 32, 1, heads=4, kv_heads=2)
    model = LlavaForConditionalGeneration(arch.llava_config(tokenizer, text, 64, 2, 96, 32))
    model.save_pretrained(tmp_path / "vlm")
    processor.save_pretrained(tmp_path / "vlm")
    seeing.main(["--model", str(tmp_path / "vlm"), "--train-pictures", "16", "--test-pictures", "4", "--steps", "3",
                 "--json", str(tmp_path / "seeing.json")])
    printed = capsys.readouterr().out
    for renderer in ("train", "heldout"):
        for aspect in ("1:1", "3:1", "1:3"):
            assert f"| {renderer} | {aspect} |" in printed
    result = json.loads((tmp_path / "seeing.json").read_text())
    assert result["cells"]["heldout"]["3:1"]["objects"] >= 4  # every held-out picture holds at least one shape
    assert result["command"].startswith("python -m msd_demo.training.seeing --model")


def test_a_folder_without_a_model_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        seeing.main(["--model", str(tmp_path)])
    assert exit_.value.code == 2
    assert "no config.json there" in capsys.readouterr().err
