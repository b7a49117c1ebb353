"""Moving data between stores: `export` writes a database to a folder (one Parquet file per table, the
call recordings, and manifest.json); `import` loads such a folder into another migrated database, an
embedded one or a ClickHouse server (docs/configuration.md, "Moving data").

Which tables travel, decided from the store's own catalogue (system.tables), not from a list:
- every MergeTree-family table that no materialized view writes: the raw OpenTelemetry tables
  (otel_traces, otel_logs, otel_metrics_*) and what the application writes itself (posted usage, chat
  histories, recordings, settled call records, alert rules/events/deliveries, price overrides, keys);
- not the targets of materialized views (lk_calls, lk_turns, the rollups, lk_call_touch, ...): inserting
  the raw rows into the target derives them again, so copying them as well would count them twice;
- not the bookkeeping of one store: the migration ledger (the target has its own; the export names its
  schema version), the write probe table, lk_price_state (which prices the records were priced
  with: without it the target's server checks the prices again at its first start) and lk_settle_state
  (how far the source settled its touches: the target settles the touches its import stamps).

Call records are copied, not only settled again: importing raw rows touches every call (lk_call_touch
is stamped at insert time), so the target's server settles them again from the same rows and prices,
giving the same records; the copies keep the calls whose raw rows the source's retention had already
dropped (records are kept for the usage retention, spans for the shorter trace retention).

Import is safe to re-run: every batch is inserted under a deduplication token named after the export,
the table and the batch, so a batch that already landed is skipped, in the table and in every view it
feeds (within the tables' deduplication window of 1000 blocks)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pyarrow.parquet as pq

from livekit_dashboard.store.cluster import LOCAL_SUFFIX, Cluster, data_table
from livekit_dashboard.store.engine import Engine, StorageError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "Manifest",
    "Progress",
    "TableFile",
    "TransferError",
    "export_store",
    "import_store",
    "read_manifest",
    "schema_version",
    "traveling_tables",
]

FORMAT = "livekit-dashboard-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_ROWS = 50_000  # rows per Parquet row group and per insert
DEDUP_WINDOW = 1000  # blocks a table remembers the tokens of (schema 0010)
_LEDGER = "livekit_dashboard_migrations"
# tables of one store's own bookkeeping: they do not travel (see the module docstring)
# (lk_call_records_next: the copy schema 0020 makes, only there while that migration runs)
_NOT_TRAVELING = frozenset(
    {_LEDGER, "livekit_dashboard_health", "lk_price_state", "lk_settle_state", "lk_call_records_next"}
)
_MV_TARGET = re.compile(r"\bTO\s+(?:`?\w+`?\.)?`?(\w+)`?")
_IDENT = re.compile(r"^\w+$")

# (table, rows so far, Arrow bytes so far, seconds so far, finished)
Progress = Callable[[str, int, int, float, bool], None]


class TransferError(StorageError):
    """An export or import that cannot go ahead (with what to do about it)."""


@dataclass(frozen=True, slots=True)
class TableFile:
    name: str
    file: str | None  # relative to the export folder; None when the table was empty
    rows: int
    bytes: int  # the file's size


@dataclass(frozen=True, slots=True)
class Manifest:
    export_id: str
    tool_version: str
    schema_version: int
    created_at: str
    source: str
    tables: list[TableFile]
    recordings: list[dict[str, Any]] = field(default_factory=list)  # {"name", "bytes"} under recordings/
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


@dataclass(frozen=True, slots=True)
class ImportResult:
    manifest: Manifest
    rows: dict[str, int]  # rows inserted (or skipped as already there) per table
    recordings: int


def _parquet() -> Any:
    """pyarrow.parquet, imported when a transfer runs (130 ms at every start otherwise)."""
    import pyarrow.parquet

    return pyarrow.parquet


def schema_version(engine: Engine) -> int:
    """The newest migration applied to the engine's database; 0 when it was never migrated."""
    found = engine.query(
        "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
        {"t": _LEDGER},
    )
    if not found[0]["n"]:
        return 0
    return int(engine.query(f"SELECT max(version) AS v FROM {_LEDGER}")[0]["v"])


def traveling_tables(engine: Engine) -> list[str]:
    """The tables an export carries, raw OpenTelemetry tables first (see the module docstring). On a
    cluster layout (store/cluster.py) a table is named by its Distributed table, which reads and writes
    every shard."""
    rows = engine.query(
        "SELECT name, engine, create_table_query AS ddl FROM system.tables WHERE database = currentDatabase()"
    )
    distributed = {row["name"] for row in rows if row["engine"] == "Distributed"}

    def plain(name: str) -> str:
        base = name.removesuffix(LOCAL_SUFFIX)
        return base if base != name and base in distributed else name

    targets = set()
    for row in rows:
        if row["engine"] == "MaterializedView":
            match = _MV_TARGET.search(row["ddl"])
            if match:
                targets.add(match.group(1))
    names = [
        plain(row["name"])
        for row in rows
        if row["engine"].endswith("MergeTree")
        and row["name"] not in targets
        and plain(row["name"]) not in _NOT_TRAVELING
    ]
    return sorted(names, key=lambda name: (not name.startswith("otel_"), name))


def export_store(
    engine: Engine,
    out: Path,
    *,
    tool_version: str,
    recordings_dir: Path | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Write every traveling table of the engine's database to `out` (created; must be empty), one
    Parquet file per table, the recordings under out/recordings, and manifest.json last (a folder
    without one is an export that did not finish)."""
    version = schema_version(engine)
    if not version:
        raise TransferError(f"the source database ({engine.description}) holds no livekit-dashboard tables")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TransferError(f"{out} exists and is not an empty folder: choose a new one")
    (out / "tables").mkdir(parents=True, exist_ok=True)
    files = [_export_table(engine, name, out, progress) for name in traveling_tables(engine)]
    recordings = _copy_recordings_out(recordings_dir, out / "recordings")
    manifest = Manifest(
        export_id=uuid.uuid4().hex,
        tool_version=tool_version,
        schema_version=version,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=engine.description,
        tables=files,
        recordings=recordings,
    )
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    return manifest


def _export_table(engine: Engine, name: str, out: Path, progress: Progress | None) -> TableFile:
    """One table, a partition at a time (a day of data at most holds in memory at once)."""
    started = time.monotonic()
    relative = f"tables/{name}.parquet"
    tmp = out / f"{relative}.tmp"
    parts = engine.query(
        "SELECT DISTINCT _partition_id AS p FROM {t:Identifier} ORDER BY p",
        {"t": name},
    )
    writer: pq.ParquetWriter | None = None
    parquet = _parquet()
    rows = size = 0
    try:
        for part in parts:
            data = engine.query_arrow(
                "SELECT * FROM {t:Identifier} WHERE _partition_id = {p:String}", {"t": name, "p": part["p"]}
            )
            if not data.num_rows:
                continue
            if writer is None:
                writer = parquet.ParquetWriter(tmp, data.schema, compression="zstd")
            writer.write_table(data.cast(writer.schema), row_group_size=BATCH_ROWS)
            rows += data.num_rows
            size += data.nbytes
            if progress:
                progress(name, rows, size, time.monotonic() - started, False)
    finally:
        if writer is not None:
            writer.close()
    if progress:
        progress(name, rows, size, time.monotonic() - started, True)
    if writer is None:
        return TableFile(name, None, 0, 0)
    os.replace(tmp, out / relative)
    return TableFile(name, relative, rows, (out / relative).stat().st_size)


def _copy_recordings_out(source: Path | None, dest: Path) -> list[dict[str, Any]]:
    if source is None or not source.is_dir():
        return []
    copied = []
    for entry in sorted(source.iterdir()):
        if entry.is_file() and not entry.name.startswith("."):  # a dot file is an upload being written
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(entry, dest / entry.name)
            copied.append({"name": entry.name, "bytes": entry.stat().st_size})
    return copied


def read_manifest(folder: Path) -> Manifest:
    """The manifest of an export folder, checked against the files beside it."""
    path = folder / MANIFEST
    if not path.is_file():
        hint = " (an export that did not finish?)" if folder.is_dir() else ""
        raise TransferError(f"no {MANIFEST} in {folder}{hint}: give the folder `livekit-dashboard export` wrote")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise TransferError(f"{path} is not a livekit-dashboard export (format {raw.get('format')!r})")
        if raw.get("format_version") != FORMAT_VERSION:
            raise TransferError(
                f"{path} is export format {raw.get('format_version')}; this version reads format {FORMAT_VERSION}"
            )
        manifest = Manifest(**{**raw, "tables": [TableFile(**table) for table in raw["tables"]]})
    except (ValueError, TypeError, KeyError) as exc:
        raise TransferError(f"{path} is not a valid manifest: {exc}") from exc
    missing = [t.file for t in manifest.tables if t.file and not (folder / t.file).is_file()]
    missing += [
        f"recordings/{r['name']}" for r in manifest.recordings if not (folder / "recordings" / r["name"]).is_file()
    ]
    if missing:
        raise TransferError(f"files named in {path} are missing: {', '.join(str(m) for m in missing)}")
    for table in manifest.tables:
        if not _IDENT.match(table.name):
            raise TransferError(f"{path} names an invalid table {table.name!r}")
        if table.file:
            rows = _parquet().ParquetFile(folder / table.file).metadata.num_rows
            if rows != table.rows:
                raise TransferError(f"{folder / table.file} holds {rows:,} rows, {path} says {table.rows:,}")
    return manifest


def import_store(
    engine: Engine,
    folder: Path,
    *,
    recordings_dir: Path | None = None,
    append: bool = False,
    progress: Progress | None = None,
    cluster: Cluster | None = None,
) -> ImportResult:
    """Load an export folder into the engine's (migrated) database, laid out for `cluster` if given.
    An empty database unless `append`; re-running an import (with `append`) inserts nothing twice."""
    manifest = read_manifest(folder)
    version = schema_version(engine)
    if not version:
        raise TransferError(
            f"the target database ({engine.description}) is not migrated: run `livekit-dashboard migrate` "
            "with the same storage options first"
        )
    if version != manifest.schema_version:
        raise TransferError(
            f"schema version mismatch: the export is at schema {manifest.schema_version:04d} "
            f"(livekit-dashboard {manifest.tool_version}), the target at {version:04d}; import with the "
            "livekit-dashboard version that wrote the export into a database it migrated"
        )
    known = set(traveling_tables(engine))
    unknown = [t.name for t in manifest.tables if t.name not in known]
    if unknown:
        raise TransferError(f"the target database has no table(s) {', '.join(unknown)} to import into")
    if not append:
        held = [(t.name, _count(engine, t.name)) for t in manifest.tables]
        full = [f"{name}: {n:,} rows" for name, n in held if n]
        if full:
            raise TransferError(
                f"the target database ({engine.description}) already holds data ({'; '.join(full[:5])}): "
                "import into an empty database, or pass --append to add to it (running the same import "
                "again with --append is safe: batches already imported are skipped)"
            )
    _ensure_dedup_windows(engine, [t.name for t in manifest.tables if t.file], cluster)
    rows = {}
    for table in manifest.tables:
        rows[table.name] = _import_table(engine, folder, manifest.export_id, table, progress) if table.file else 0
    copied = _copy_recordings_in(folder / "recordings", manifest.recordings, recordings_dir)
    return ImportResult(manifest, rows, copied)


def _count(engine: Engine, table: str) -> int:
    return int(engine.query("SELECT count() AS n FROM {t:Identifier}", {"t": table})[0]["n"])


def _ensure_dedup_windows(engine: Engine, tables: list[str], cluster: Cluster | None) -> None:
    """Tables that keep no deduplication window (the small ones the application writes: keys, alert
    rules, price overrides) get one, so a re-run import skips their batches too. Replicated tables
    deduplicate by default."""
    rows = engine.query(
        "SELECT name, engine, create_table_query AS ddl FROM system.tables "
        "WHERE database = currentDatabase() AND name IN {names:Array(String)}",
        {"names": [data_table(cluster, table) for table in tables]},
    )
    for row in rows:
        if row["engine"].startswith("Replicated") or "non_replicated_deduplication_window" in row["ddl"]:
            continue
        name = row["name"]
        if not _IDENT.match(name):
            raise TransferError(f"invalid table name {name!r}")
        # DDL takes no bound parameters; the name is the target's own (checked above)
        on_cluster = cluster.clause if cluster else ""
        engine.command(
            f"ALTER TABLE `{name}` {on_cluster} MODIFY SETTING non_replicated_deduplication_window = {DEDUP_WINDOW}"
        )


def _import_table(engine: Engine, folder: Path, export_id: str, table: TableFile, progress: Progress | None) -> int:
    assert table.file is not None
    started = time.monotonic()
    parquet = _parquet().ParquetFile(folder / table.file)
    rows = size = 0
    for index, batch in enumerate(parquet.iter_batches(batch_size=BATCH_ROWS)):
        data = pa.Table.from_batches([batch])
        engine.insert_arrow(table.name, data, token=f"import.{export_id}.{table.name}.{index}")
        rows += data.num_rows
        size += data.nbytes
        if progress:
            progress(table.name, rows, size, time.monotonic() - started, False)
    if progress:
        progress(table.name, rows, size, time.monotonic() - started, True)
    return rows


def _copy_recordings_in(source: Path, listed: list[dict[str, Any]], dest: Path | None) -> int:
    if not listed:
        return 0
    if dest is None:
        raise TransferError("the export holds call recordings but the target has no recordings folder")
    dest.mkdir(parents=True, exist_ok=True)
    for entry in listed:
        name = str(entry["name"])
        if "/" in name or name.startswith("."):
            raise TransferError(f"invalid recording file name {name!r} in the manifest")
        tmp = dest / f".{name}.import.tmp"
        shutil.copyfile(source / name, tmp)
        os.replace(tmp, dest / name)
    return len(listed)
