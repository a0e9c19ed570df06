"""The model card: the heads section, rewritten by each heads stage, stays where the card has it; the target's training rows."""

import json
import shutil

from msd_demo.presets.catalog import MODELS_DIR
from msd_demo.training.card import HEADS_TITLE, update_heads_section


def test_the_heads_section_is_rewritten_in_place(tmp_path):
    shutil.copytree(MODELS_DIR / "msd", tmp_path / "msd")
    card = tmp_path / "README.md"
    card.write_text(f"# Card\n\n## Accuracy\n\nfigures\n\n{HEADS_TITLE}\n\nintro\n\nSession 9: how they were retrained.\n\n"
                    "an old table\n\n## Issue 21\n\nnotes\n")
    update_heads_section(tmp_path)
    text = card.read_text()
    assert "an old table" not in text and "intro" not in text and "| `msd` | MSD:" in text
    assert text.index("Session 9: how they were retrained.") < text.index("| head |")  # the session's note stays
    assert text.index("## Accuracy") < text.index(HEADS_TITLE) < text.index("## Issue 21") and text.endswith("notes\n")
    card.write_text("# Card without heads\n")
    update_heads_section(tmp_path)  # a card without the section gets it at the end
    assert card.read_text().startswith("# Card without heads\n\n" + HEADS_TITLE)


def test_the_stages_that_retrained_the_target_follow_its_first_training_in_the_records(tmp_path):
    from msd_demo.training.card import MODELS, build_records
    from msd_demo.training.plan import checkpoints

    cost = {"steps": 1, "tokens": 0, "cpu_seconds": 1.0, "wall_seconds": 1.0}
    for stage in (*MODELS, "tower-sharpen", "target-tune"):
        marker = checkpoints(tmp_path, stage) / "done.json"
        marker.parent.mkdir(parents=True)
        marker.write_text(json.dumps({"phases": {stage if stage != "target" else "language": cost}}))
    assert list(build_records(tmp_path)["target"]["phases"]) == ["language", "tower-sharpen", "target-tune"]
