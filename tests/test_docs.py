"""Docs stay in step with the code: every setting is documented with its environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from livekit_dashboard.config import Settings

DOCS = Path(__file__).parent.parent / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"| `{name}` |" in text, f"docs/configuration.md lacks a row for {name}"
        assert f"`LIVEKIT_DASHBOARD_{name.upper()}`" in text


def test_documented_defaults_match() -> None:
    text = (DOCS / "configuration.md").read_text()
    defaults = Settings()
    names = (
        "port",
        "grpc_port",
        "max_body_bytes",
        "queue_max_rows",
        "batch_max_rows",
        "flush_interval_ms",
        "read_cache_mb",
    )
    for name in names:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"`{getattr(defaults, name)}`" in row, f"default of {name} differs from the docs"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEKIT_DASHBOARD_PORT", "9999")
    monkeypatch.setenv("LIVEKIT_DASHBOARD_DATA_DIR", "/tmp/x")
    settings = Settings()
    assert settings.port == 9999
    assert settings.resolved_dsn() == "chdb:///tmp/x"
