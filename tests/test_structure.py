"""The package's shape: imports flow one way (no cycles, function-level imports included), gradio and plotly
stay in the UI, and the runtime never reaches into training/ or world/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "msd_demo"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every msd_demo module this file imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from pkg import submodule`
    return {name for name in found if name in known}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, set(known)) - {name} for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of modules (first == last), or None: depth-first search with three colours."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for neighbour in sorted(graph.get(node, ())):
            if state.get(neighbour) == "open":
                return stack[stack.index(neighbour):] + [neighbour]
            if neighbour not in state and (cycle := visit(neighbour)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_the_packages_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_engine_depends_on_no_preset_ui_measurement_or_training():
    for name, imported in import_graph().items():
        if name.startswith("msd_demo.engine"):
            outside = {m for m in imported if m.startswith(("msd_demo.presets", "msd_demo.ui", "msd_demo.measure",
                                                             "msd_demo.training", "msd_demo.world", "msd_demo.cli"))}
            assert not outside, f"{name} imports {outside}"


def test_only_the_ui_imports_gradio_and_the_runtime_never_imports_training_or_world():
    for name, path in modules().items():
        third_party = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                third_party |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                third_party.add(node.module.split(".")[0])
        if "gradio" in third_party:
            assert name.startswith("msd_demo.ui"), f"{name} imports gradio"
        if "plotly" in third_party:
            assert name.startswith(("msd_demo.ui", "msd_demo.measure.tables")), f"{name} imports plotly"
    runtime = [name for name in modules() if not name.startswith(("msd_demo.training", "msd_demo.world"))]
    graph = import_graph()
    for name in runtime:
        reached = {m for m in graph[name] if m.startswith(("msd_demo.training", "msd_demo.world"))}
        assert not reached, f"{name} imports {reached}"


def test_paths_to_the_repositorys_own_files_point_at_files_that_exist():
    from msd_demo.measure.bench import DEFAULT_SUITE
    from msd_demo.presets.catalog import MODELS_DIR
    from msd_demo.ui.examples import ASSETS_DIR

    assert DEFAULT_SUITE.is_file() and (MODELS_DIR / "target").is_dir() and (ASSETS_DIR / "shapes_1.png").is_file()
