"""The architecture, checked: layers talk through package roots, SQL lives only in store/ and query/,
and settings are read only by the CLI and the composition root (import-linter checks the layers)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "livekit_dashboard"
_SQL_WORDS = ("SELECT ", "INSERT INTO", "ALTER TABLE", "CREATE TABLE", "TRUNCATE", "DROP TABLE", "DROP DATABASE")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", [*sorted((SRC / "api").glob("*.py")), SRC / "server.py", SRC / "cli.py"], ids=str)
def test_outer_layers_use_only_the_public_surface_of_ingest_query_and_store(path: Path) -> None:
    for module in _imports(path):
        parts = module.split(".")
        if parts[:1] == ["livekit_dashboard"] and len(parts) > 2 and parts[1] in ("ingest", "query", "store"):
            pytest.fail(f"{path.name} reaches into {module}; use livekit_dashboard.{parts[1]}'s exports")


def test_no_sql_outside_store_and_query() -> None:
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] in ("store", "query"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not any(word in node.value for word in _SQL_WORDS), f"SQL in {path}: {node.value[:60]!r}"


def test_one_module_one_noun_and_no_giant_files() -> None:
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) <= 500, f"{path} is over 500 lines: split it"
        if path.name != "__main__.py":
            assert text.startswith('"""'), f"{path} starts with a docstring saying what it owns"


def _runtime_distributions() -> set[str]:
    """The distributions `pip install livekit-dashboard` brings (no extras), normalised names."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = ["livekit-dashboard"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.distribution(name).requires or []:
            requirement = Requirement(spec)
            # dependencies of an extra are not installed without it
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


@functools.cache
def _providers(module: str) -> frozenset[str]:
    """The distributions whose files hold `module` (namespace packages such as opentelemetry are shared)."""
    from importlib import util

    spec = util.find_spec(module)
    assert spec is not None, f"{module} is not importable here"
    assert spec.origin, f"{module} has no file"
    origin = str(Path(spec.origin).resolve())
    candidates = _top_level_providers().get(module.split(".")[0], [])
    return frozenset(dist for dist in candidates if origin in _files_of(dist))


@functools.cache
def _top_level_providers() -> dict[str, list[str]]:
    from importlib import metadata

    return dict(metadata.packages_distributions())


@functools.cache
def _files_of(dist: str) -> frozenset[str]:
    from importlib import metadata

    files = metadata.distribution(dist).files or []
    return frozenset(str(Path(str(f.locate())).resolve()) for f in files if f.suffix in (".py", ".so", ".pyd"))


def test_the_server_imports_only_what_a_plain_install_brings() -> None:
    """Every third-party module the package imports (outside the worker-side helper, an extra) comes
    from a runtime dependency, not from the test extras this suite runs with: `pip install
    livekit-dashboard` alone must start the server."""
    import sys

    from packaging.utils import canonicalize_name

    runtime = _runtime_distributions()
    missing = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "agent.py":  # `pip install livekit-dashboard[agent]`
            continue
        for module in _imported_names(path):
            if module.split(".")[0] in (*sys.stdlib_module_names, "livekit_dashboard"):
                continue
            if not {canonicalize_name(d) for d in _providers(_file_module(module))} & runtime:
                missing.append(f"{path.relative_to(SRC)}: {module}")
    assert not missing, f"imported, but only test extras install them: {missing}"


def _imported_names(path: Path) -> list[str]:
    """Full names of what a file imports (`from a.b import c` gives a.b.c: c may be a module)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _file_module(name: str) -> str:
    """The deepest prefix of `name` that is a module with a file (not a namespace package, not a class)."""
    from importlib import util

    parts = name.split(".")
    while parts:
        try:
            spec = util.find_spec(".".join(parts))
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin not in (None, "namespace"):
            return ".".join(parts)
        parts.pop()
    raise AssertionError(f"{name} is not importable here")


_STATIC_IMPORT = re.compile(r'^import\s[^;]*?\sfrom\s+"(\.{1,2}/[^"]+)";', re.MULTILINE | re.DOTALL)


def _static_imports(path: Path) -> list[Path]:
    return [(path.parent / target).resolve() for target in _STATIC_IMPORT.findall(path.read_text())]


def test_the_page_preloads_exactly_the_modules_the_app_imports() -> None:
    web = SRC / "web"
    graph: set[Path] = set()
    todo = [(web / "app.js").resolve()]
    while todo:
        for module in _static_imports(todo.pop()):
            if module not in graph:
                graph.add(module)
                todo.append(module)
    preloaded = {
        (web / href.removeprefix("/static/")).resolve()
        for href in re.findall(r'<link rel="modulepreload" href="([^"]+)">', (web / "index.html").read_text())
    }
    assert {p.relative_to(web) for p in preloaded} == {p.relative_to(web) for p in graph}
    # the app starts without ECharts: charts.js imports it dynamically, beside the first API requests
    assert not [p for p in graph if "vendor" in p.parts], "a module imports a vendored library statically"
    assert 'import("./vendor/echarts-' in (web / "charts.js").read_text()
