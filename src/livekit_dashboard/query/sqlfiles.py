"""SQL files: load query/sql/<name>.sql once, with its header contract checked and its fragments
included.

SQL has no includes, so a piece that several queries share (the rollup/raw-edge split of a time
range, the filters, the log id) is written once in query/sql/fragments/<name>.sql and named in a query
as `{{name}}`; the text is put in place when the file is loaded (fragments may include fragments).
Values are never templated: fragments hold SQL with `{param:Type}` placeholders bound by the engine.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

__all__ = ["fragment_names", "fragment_sql", "load_sql", "render_sql"]

_INCLUDE = re.compile(r"\{\{(\w+)\}\}")


def _read(*parts: str) -> str:
    return resources.files("livekit_dashboard.query").joinpath("sql", *parts).read_text(encoding="utf-8")


@functools.cache
def _fragment(name: str) -> str:
    try:
        text = _read("fragments", f"{name}.sql")
    except FileNotFoundError:
        raise ValueError(f"unknown SQL fragment {{{{{name}}}}}") from None
    if not text.startswith(f"-- fragment: {name}\n"):
        raise ValueError(f"query/sql/fragments/{name}.sql must start with '-- fragment: {name}'")
    lines = text.splitlines()
    while lines and lines[0].startswith("--"):
        lines.pop(0)  # the header
    return "\n".join(lines).strip()


def _include(text: str, chain: tuple[str, ...]) -> str:
    def put(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in chain:
            raise ValueError(f"SQL fragments include each other: {' -> '.join((*chain, name))}")
        return _include(_fragment(name), (*chain, name))

    return _INCLUDE.sub(put, text)


@functools.cache
def load_sql(name: str) -> str:
    text = _read(f"{name}.sql")
    if not text.startswith(f"-- query: {name}\n") and not text.startswith(f"-- panel: {name}\n"):
        raise ValueError(f"query/sql/{name}.sql must start with its header ('-- query: {name}')")
    return _include(text, ())


def render_sql(text: str) -> str:
    """Any SQL text with the fragments it names put in place (for reference queries in tests)."""
    return _include(text, ())


def fragment_sql(name: str) -> str:
    """A fragment's SQL with the fragments it names put in place (header stripped)."""
    return _include(_fragment(name), (name,))


def fragment_names() -> list[str]:
    """Every fragment shipped, for the contract test."""
    folder = resources.files("livekit_dashboard.query").joinpath("sql", "fragments")
    return sorted(entry.name.removesuffix(".sql") for entry in folder.iterdir() if entry.name.endswith(".sql"))
