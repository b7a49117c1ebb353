"""Deduplication logs whose parts never landed: repaired before chDB opens a data directory.

A table with ``non_replicated_deduplication_window`` keeps, per table, a log of the blocks it stored
(``deduplication_logs/deduplication_log_<n>.txt``, lines ``1<TAB>part<TAB>block id`` to add and
``2<TAB>…`` to drop). ClickHouse appends a block's line *before* it renames the block's temporary part
into place, so a process killed between the two leaves a line naming a part that never existed; on
the next start the temporary part is deleted and the line loaded, and the write-ahead log's replay of
that batch under the same deduplication token is skipped as a duplicate in that one table: rows
acknowledged and never stored. (Seen once in the crash test, in one rollup: docs/reliability.md.)

Before this process first opens a directory, every such line gets a drop line appended to its table's
newest log (the log's own format, as ClickHouse writes when a part is dropped), so the replay stores
the block. A line is kept while some part of its table covers its block (the same partition and a
block range holding it: parts merge and mutate, their names change). Dropping the line of a part that
is gone for another reason (expired by TTL) is harmless: a block's token is never sent again except
by this replay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DanglingBlock", "dangling_blocks", "repair_dedup_logs"]

log = logging.getLogger(__name__)

_ADD, _DROP = "1", "2"
_LOGS = "deduplication_logs"
_PREFIX = "deduplication_log_"


@dataclass(frozen=True, slots=True)
class DanglingBlock:
    table_dir: Path
    part: str
    block_id: str


def _block_range(name: str) -> tuple[str, int, int] | None:
    """(partition, min block, max block) of a part name ``<partition>_<min>_<max>_<level>[_<mutation>]``
    (partition ids hold no underscore); None for anything else (tmp_*, detached, files)."""
    fields = name.split("_")
    if len(fields) not in (4, 5) or not fields[0] or not all(f.isdigit() for f in fields[1:]):
        return None
    return fields[0], int(fields[1]), int(fields[2])


def _log_number(path: Path) -> int:
    suffix = path.stem.removeprefix(_PREFIX)
    return int(suffix) if suffix.isdigit() else -1


def _logs(table_dir: Path) -> list[Path]:
    logs = [p for p in (table_dir / _LOGS).glob(f"{_PREFIX}*.txt") if _log_number(p) >= 0]
    return sorted(logs, key=_log_number)


def _recorded(logs: list[Path]) -> dict[str, str] | None:
    """block id -> part name of every block the logs hold (added, not dropped since); None when a log
    does not end on a whole line (never written so by ClickHouse: leave such a table alone)."""
    blocks: dict[str, str] = {}
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        if text and not text.endswith("\n"):
            return None
        for line in text.splitlines():
            fields = line.split("\t")
            if len(fields) != 3:
                return None
            op, part, block_id = fields
            if op == _ADD:
                blocks[block_id] = part
            elif op == _DROP:
                blocks.pop(block_id, None)
    return blocks


def _covered(part: str, parts: list[tuple[str, int, int]]) -> bool:
    wanted = _block_range(part)
    if wanted is None:
        return True  # a name we cannot read: keep its line
    partition, low, high = wanted
    return any(p == partition and lo <= low and high <= hi for p, lo, hi in parts)


def dangling_blocks(table_dir: Path) -> list[DanglingBlock]:
    """The blocks `table_dir`'s deduplication logs hold whose part is on disk in no form."""
    logs = _logs(table_dir)
    recorded = _recorded(logs) if logs else None
    if not recorded:
        return []
    parts = [r for r in (_block_range(p.name) for p in table_dir.iterdir() if p.is_dir()) if r is not None]
    return [DanglingBlock(table_dir, part, block) for block, part in recorded.items() if not _covered(part, parts)]


def _table_names(data_dir: Path) -> dict[Path, str]:
    """Each table directory's ``database.table`` (an Atomic database links data/<db>/<table> to it)."""
    names = {}
    for link in data_dir.glob("data/*/*"):
        try:
            names[link.resolve()] = f"{link.parent.name}.{link.name}"
        except OSError:
            continue
    return names


def repair_dedup_logs(data_dir: Path) -> list[DanglingBlock]:
    """Append a drop line for every dangling block of every table under `data_dir` (a chDB data
    directory no process has open); returns them."""
    store = data_dir / "store"
    if not store.is_dir():
        return []
    repaired: list[DanglingBlock] = []
    names: dict[Path, str] | None = None
    for logs_dir in sorted(store.glob(f"*/*/{_LOGS}")):
        table_dir = logs_dir.parent
        try:
            dangling = dangling_blocks(table_dir)
            if not dangling:
                continue
            with _logs(table_dir)[-1].open("a", encoding="utf-8") as out:
                out.writelines(f"{_DROP}\t{d.part}\t{d.block_id}\n" for d in dangling)
        except OSError as exc:  # ClickHouse reports an unwritable directory itself, next
            log.warning("storage: cannot check the deduplication log of %s: %s", table_dir, exc)
            continue
        names = _table_names(data_dir) if names is None else names
        for d in dangling:
            log.warning(
                "storage: block %s of %s was recorded as stored in part %s, which never landed (a crash "
                "mid-insert); the write-ahead log's replay will store it",
                d.block_id,
                names.get(table_dir.resolve(), table_dir.name),
                d.part,
            )
        repaired.extend(dangling)
    return repaired
