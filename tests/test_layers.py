"""Each layer in its place: no import cycles, transforms do no I/O, the warehouse runs no flows, small modules."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("flows", "transforms", "warehouse")
# What a pure transform never imports, and the calls and attributes that read or write outside its arguments.
TRANSFORM_BANNED_IMPORTS = (
    "prefect", "duckdb", "httpx", "requests", "urllib.request", "socket", "flows", "warehouse"
)
TRANSFORM_BANNED_CALLS = frozenset({"open", "read_text", "read_bytes", "write_text", "write_bytes", "getenv"})
WAREHOUSE_BANNED_IMPORTS = ("prefect", "flows")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_files(*layers: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the given layers."""
    files = {}
    for layer in layers:
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imported_names(tree: ast.AST) -> set[str]:
    """Every module name an AST imports (absolute imports; `from a import b` gives `a` and `a.b`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def import_graph(*layers: str) -> dict[str, set[str]]:
    """Module -> the project modules it imports, anywhere in its code (function-level imports too)."""
    files = module_files(*layers)
    return {
        name: imported_names(ast.parse(path.read_text())) & set(files) - {name} for name, path in files.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, None when there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return error.args[1]
    return None


def banned_uses(
    tree: ast.AST, imports: tuple[str, ...], calls: frozenset[str], environ: bool = False
) -> list[str]:
    """Banned imports and calls in one module's AST, and `os.environ` reads unless `environ` allows them."""
    found = [
        f"import {name}"
        for name in sorted(imported_names(tree))
        if any(name == banned or name.startswith(banned + ".") for banned in imports)
    ]
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "environ" and not environ:
            uses.append((node.lineno, "os.environ"))
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
            if name in calls:
                uses.append((node.lineno, f"{name}()"))
    return found + [f"line {line}: {use}" for line, use in sorted(uses)]


def test_transforms_and_warehouse_have_no_import_cycle() -> None:
    assert find_cycle(import_graph("transforms", "warehouse")) is None


def test_flows_have_no_import_cycle() -> None:
    assert find_cycle(import_graph(*LAYERS)) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) in (
        ["a", "c", "b", "a"],
        ["a", "b", "c", "a"],
        ["b", "a", "c", "b"],
        ["b", "c", "a", "b"],
        ["c", "b", "a", "c"],
        ["c", "a", "b", "c"],
    )


@pytest.mark.parametrize("name", sorted(module_files("transforms")))
def test_a_transform_does_no_io(name: str) -> None:
    tree = ast.parse(module_files("transforms")[name].read_text())
    assert banned_uses(tree, TRANSFORM_BANNED_IMPORTS, TRANSFORM_BANNED_CALLS) == []


def test_the_io_check_sees_files_environment_and_drivers() -> None:
    source = "import duckdb\nfrom prefect import flow\nx = os.environ['A']\nopen('f')\nPath('p').read_text()\n"
    assert banned_uses(ast.parse(source), TRANSFORM_BANNED_IMPORTS, TRANSFORM_BANNED_CALLS) == [
        "import duckdb",
        "import prefect",
        "import prefect.flow",
        "line 3: os.environ",
        "line 4: open()",
        "line 5: read_text()",
    ]


@pytest.mark.parametrize("name", sorted(module_files("warehouse")))
def test_the_warehouse_runs_no_flows(name: str) -> None:
    tree = ast.parse(module_files("warehouse")[name].read_text())
    assert banned_uses(tree, WAREHOUSE_BANNED_IMPORTS, frozenset(), environ=True) == []


@pytest.mark.parametrize("name", sorted(module_files(*LAYERS)))
def test_modules_and_functions_stay_small(name: str) -> None:
    source = module_files(*LAYERS)[name].read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    long_functions = [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long_functions == []
