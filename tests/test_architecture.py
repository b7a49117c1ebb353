"""The architecture, checked: layers talk through package roots, SQL lives only in store/ and query/,
and settings are read only by the CLI and the composition root (import-linter checks the layers)."""

from __future__ import annotations

import ast
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
