"""The contract between query/sql/*.sql, the panel registry and docs/panels.md."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from livekit_dashboard.query.panels import PANELS, header_params

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
    body = "\n".join(line for line in lines if not line.startswith("--"))
    assert set(header_params(text)) == set(_USED.findall(body)), "declared params must be the ones used"
    assert "%s" not in body, "values are bound, never formatted in"
    assert "{{" not in body, "only DDL has structural slots"


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


def test_log_id_hash_is_the_same_everywhere() -> None:
    """Log ids are derived in three queries; if one drifted, listed ids would stop resolving."""
    expression = (
        "leftPad(lower(hex(cityHash64(ServiceName, TraceId, SpanId, SeverityNumber, Body, "
        "toString(LogAttributes)))), 16, '0')"
    )
    for name in ("log_list.sql", "logs.sql", "log_entry.sql"):
        assert expression in SQL_DIR.joinpath(name).read_text(), name
