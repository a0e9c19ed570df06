"""The README's benchmark tables are generated from committed bench JSON, so they cannot go stale.

A generated table sits between `<!-- table from PATH [PATH ...] -->` and `<!-- end of table -->`; this test
regenerates each one (`python -m msd_demo report PATH ... --markdown`) and fails where the README differs.
"""

import re
from pathlib import Path

import pytest

from msd_demo.cli import main
from msd_demo.measure.tables import markdown_report, read_bench

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKED = re.compile(r"<!-- table from (?P<paths>[^>]+?) -->\n(?P<table>.*?)<!-- end of table -->", re.DOTALL)


def marked_tables() -> list[tuple[list[str], str]]:
    return [(match["paths"].split(), match["table"]) for match in MARKED.finditer(README.read_text())]


def test_the_readme_has_generated_benchmark_tables():
    assert marked_tables(), "no '<!-- table from PATH -->' marker in the README"
    benchmark = README.read_text().split("## Benchmark", 1)[1].split("\n## ", 1)[0]
    unmarked = MARKED.sub("", benchmark)
    assert "| drafter |" not in unmarked, "a benchmark table in the README that no committed JSON generates"


@pytest.mark.parametrize("paths, table", marked_tables(), ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_each_marked_table_is_what_its_json_gives(paths, table):
    results = [read_bench(ROOT / path) for path in paths]
    assert table.strip() == markdown_report(results).strip(), f"regenerate with: python -m msd_demo report {' '.join(paths)} --markdown"


@pytest.mark.parametrize("path", sorted({path for paths, _ in marked_tables() for path in paths}))
def test_every_drafters_alpha_lies_between_its_word_class_alphas(path):
    """alpha and the word-class alphas judge the same positions: the overall one is their weighted mean."""
    for name, drafter in read_bench(ROOT / path)["drafters"].items():
        visual, other = drafter["acceptance_rate_visual_words"], drafter["acceptance_rate_other_words"]
        assert min(visual, other) - 1e-9 <= drafter["acceptance_rate"] <= max(visual, other) + 1e-9, name


def test_report_prints_the_markdown(capsys):
    paths, table = marked_tables()[0]
    assert main(["report", *(str(ROOT / path) for path in paths), "--markdown"]) == 0
    assert capsys.readouterr().out.strip() == table.strip()


def test_report_refuses_what_is_not_a_bench_result(tmp_path, capsys):
    not_bench = tmp_path / "other.json"
    not_bench.write_text('{"a": 1}')
    assert main(["report", str(not_bench)]) == 2
    assert "not a bench result" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err
