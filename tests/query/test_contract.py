"""The contract between query/sql/*.sql, the panel registry and docs/panels.md."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from livekit_dashboard.query.panels import PANELS, header_params
from livekit_dashboard.query.sqlfiles import fragment_names, fragment_sql, load_sql

SQL_DIR = resources.files("livekit_dashboard.query").joinpath("sql")
SQL_FILES = sorted(p.name for p in SQL_DIR.iterdir() if p.name.endswith(".sql"))
DOCS = (Path(__file__).parent.parent.parent / "docs" / "panels.md").read_text()
_USED = re.compile(r"\{(\w+):[^}]+\}")


@pytest.mark.parametrize("file_name", SQL_FILES)
def test_header_contract(file_name: str) -> None:
    text = SQL_DIR.joinpath(file_name).read_text()
    name = file_name.removesuffix(".sql")
    lines = text.splitlines()
    assert lines[0] in (f"-- panel: {name}", f"-- query: {name}")
    assert lines[1].startswith("-- ")
    assert len(lines[1]) > 20, "line 2 says what it shows"
    assert lines[2].startswith("-- params: ")
    assert lines[3].startswith("-- returns: ")
    rendered = load_sql(name)  # fragments included
    body = "\n".join(line for line in rendered.splitlines() if not line.strip().startswith("--"))
    assert set(header_params(text)) == set(_USED.findall(body)), "declared params must be the ones used"
    assert "%s" not in body, "values are bound, never formatted in"
    assert "{{" not in body, "every fragment resolves"


@pytest.mark.parametrize("name", fragment_names())
def test_fragment_contract(name: str) -> None:
    """A fragment starts with its name and what it is, declares the parameters it binds, and is used."""
    text = SQL_DIR.joinpath("fragments", f"{name}.sql").read_text()
    lines = text.splitlines()
    assert lines[0] == f"-- fragment: {name}"
    assert len(lines[1]) > 20
    params_line = next(line for line in lines if line.startswith("-- params: "))
    body = "\n".join(line for line in fragment_sql(name).splitlines() if not line.strip().startswith("--"))
    assert set(header_params(params_line)) == set(_USED.findall(body)), name
    users = [f for f in SQL_FILES if "{{" + name + "}}" in SQL_DIR.joinpath(f).read_text()]
    users += [
        f for f in fragment_names() if "{{" + name + "}}" in SQL_DIR.joinpath("fragments", f"{f}.sql").read_text()
    ]
    assert users, f"fragment {name} is not used"


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", "\n".join(line for line in text.splitlines() if not line.startswith("--"))).strip()


@pytest.mark.parametrize("name", fragment_names())
def test_fragments_are_not_copied(name: str) -> None:
    """SQL defined once: no query spells out a fragment's text instead of including it."""
    fragment = _squash(SQL_DIR.joinpath("fragments", f"{name}.sql").read_text())
    for file_name in SQL_FILES:
        assert fragment not in _squash(SQL_DIR.joinpath(file_name).read_text()), (name, file_name)


def test_every_panel_file_is_registered_and_documented() -> None:
    panel_files = {f.removesuffix(".sql") for f in SQL_FILES if SQL_DIR.joinpath(f).read_text().startswith("-- panel:")}
    assert panel_files == set(PANELS)
    documented = set(re.findall(r"^## (\w+)$", DOCS, re.MULTILINE))
    assert documented == set(PANELS)


def test_registry_params_match_headers() -> None:
    for panel in PANELS.values():
        assert panel.params == header_params(SQL_DIR.joinpath(f"{panel.name}.sql").read_text())
        assert {"start", "end"} <= set(panel.params)


def test_hourly_variants_match_their_panels() -> None:
    """A panel's <name>_hourly.sql takes the same parameters and returns the same columns."""
    variants = {f.removesuffix("_hourly.sql") for f in SQL_FILES if f.endswith("_hourly.sql")}
    assert variants == {p.name for p in PANELS.values() if p.hourly_unless is not None}
    for name in variants:
        panel = SQL_DIR.joinpath(f"{name}.sql").read_text().splitlines()
        hourly = SQL_DIR.joinpath(f"{name}_hourly.sql").read_text().splitlines()
        assert hourly[2:4] == panel[2:4], name  # -- params: and -- returns:


def test_log_ids_are_derived_by_one_fragment() -> None:
    """Log ids are derived in four queries (three through the log_row fragment); if one drifted, listed
    ids would stop resolving."""
    assert "{{log_hash}}" in SQL_DIR.joinpath("fragments", "log_row.sql").read_text()
    for name in ("log_list.sql", "logs.sql", "call_logs.sql", "log_entry.sql"):
        text = SQL_DIR.joinpath(name).read_text()
        assert "{{log_hash}}" in text or "{{log_row}}" in text, name
        assert "cityHash64" not in text, name
