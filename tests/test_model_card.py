"""The model card's heads section, rewritten by each heads stage, stays where the card has it."""

import shutil

from msd_demo.presets.catalog import MODELS_DIR
from msd_demo.training.card import HEADS_TITLE, update_heads_section


def test_the_heads_section_is_rewritten_in_place(tmp_path):
    shutil.copytree(MODELS_DIR / "msd", tmp_path / "msd")
    card = tmp_path / "README.md"
    card.write_text(f"# Card\n\n## Accuracy\n\nfigures\n\n{HEADS_TITLE}\n\nan old table\n\n## Issue 21\n\nnotes\n")
    update_heads_section(tmp_path)
    text = card.read_text()
    assert "an old table" not in text and "| `msd` | MSD:" in text
    assert text.index("## Accuracy") < text.index(HEADS_TITLE) < text.index("## Issue 21") and text.endswith("notes\n")
    card.write_text("# Card without heads\n")
    update_heads_section(tmp_path)  # a card without the section gets it at the end
    assert card.read_text().startswith("# Card without heads\n\n" + HEADS_TITLE)
