"""SQL files: load query/sql/<name>.sql once, with its header contract checked."""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["load_sql"]


@functools.cache
def load_sql(name: str) -> str:
    text = resources.files("livekit_dashboard.query").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    if not text.startswith(f"-- query: {name}\n") and not text.startswith(f"-- panel: {name}\n"):
        raise ValueError(f"query/sql/{name}.sql must start with its header ('-- query: {name}')")
    return text
