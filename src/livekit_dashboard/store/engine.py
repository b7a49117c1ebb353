"""Engine: one interface to ClickHouse, embedded (chDB) or a server (HTTP), safe across threads.

chDB's sharp edges shape this module (measured, see docs/configuration.md): a connection shared
by threads leaks query parameters between them and deadlocks next to a writer, while one
connection per thread runs clean. So every engine owns a small pool of connections and a thread
holds one exclusively for the length of a statement. A data directory can be opened by one
process only; we take an advisory lock first so a second process gets a one-line error instead
of chDB's initialisation failure.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, urlparse

import pyarrow as pa

from livekit_dashboard.store.datadir import count_write, first_open, lock_data_dir, unlock_data_dir, writes_on
from livekit_dashboard.store.dedup_log import repair_dedup_logs
from livekit_dashboard.store.errors import DataDirInUseError, StorageError

__all__ = ["DataDirInUseError", "Engine", "StorageError", "chdb_path", "open_engine"]

_C = TypeVar("_C")


class Engine(Protocol):
    """What the rest of the code may ask of storage."""

    @property
    def description(self) -> str:
        """Where the data lives, for logs and /healthz (never contains secrets)."""
        ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one SELECT with server-side bound parameters; rows as dicts (maps as dicts)."""
        ...

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run one SELECT; the result as an Arrow table, in ClickHouse's own Arrow types (for moving
        rows between stores without a trip through Python values)."""
        ...

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement that returns nothing useful (DDL, INSERT ... SELECT)."""
        ...

    def insert_arrow(self, table: str, data: pa.Table, *, token: str = "") -> None:
        """Insert an Arrow table whose column names match the target table's, as one block. With a
        `token` (letters, digits, `-_.:`), a retry of the same insert is skipped where it already
        landed, in the table and in every materialized view fed by it (the tables keep a
        deduplication window), so a batch retried after a partial failure is stored exactly once."""
        ...

    def writes(self) -> int | None:
        """How many statements that write (command, insert_arrow) this process has finished on this
        store, counted after each returns, failed ones too; None when other processes may write it as
        well (a ClickHouse server), where an unchanged count does not mean unchanged data."""
        ...

    def ping(self) -> None:
        """Raise StorageError unless storage answers a trivial query."""
        ...

    def close(self) -> None:
        """Release connections and locks."""
        ...


class _Pool(Generic[_C]):
    """A bounded set of connections; each is used by one thread at a time."""

    def __init__(self, factory: Callable[[], _C], size: int) -> None:
        self._factory = factory
        self._idle: queue.LifoQueue[_C] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: list[_C] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[_C]:
        self._slots.acquire()
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._factory()
                with self._lock:
                    self._all.append(conn)
            try:
                yield conn
            finally:
                self._idle.put(conn)
        finally:
            self._slots.release()

    def connections(self) -> list[_C]:
        with self._lock:
            return list(self._all)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Arrow -> python rows, turning map columns (lists of pairs) into dicts, nested too."""
    converters = {f.name: _converter(f.type) for f in table.schema}
    rows = table.to_pylist()
    active = {name: conv for name, conv in converters.items() if conv is not None}
    if active:
        for row in rows:
            for name, conv in active.items():
                row[name] = conv(row[name])
    return rows  # type: ignore[no-any-return]


def _converter(typ: pa.DataType) -> Callable[[Any], Any] | None:
    if pa.types.is_map(typ):
        return lambda v: dict(v) if v is not None else {}
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        inner = _converter(typ.value_type)
        if inner is not None:
            return lambda v: [inner(x) for x in v] if v is not None else []
    return None


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})


def _literal(item: Any) -> str:
    """An array element or map key/value as a literal: strings quoted (inside a quoted literal the same
    escapes apply once: no second text layer), numbers as they are."""
    if isinstance(item, str):
        return "'" + item.translate(_TSV_ESCAPES).replace("'", "\\'") + "'"
    return str(item)


def _chdb_param(value: Any) -> Any:
    """chDB reads parameter values in ClickHouse's escaped text form and does not serialise lists or
    maps: escape strings (or a backslash-t would become a tab) and write arrays and maps as literals.
    clickhouse-connect does both itself, so only the chDB engine needs this."""
    if isinstance(value, str):
        return value.translate(_TSV_ESCAPES)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_literal(str(k))}:{_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return int(value)
    return value


def _one_block(data: pa.Table, token: str) -> pa.Table:
    """An insert under a deduplication token as one block. ClickHouse names the parts of an insert
    `token_0`, `token_1`, … block by block; a Distributed table forwards each block as an insert of its
    own, numbered from 0 again, so a second block was dropped as a duplicate of the first (measured on a
    one-shard cluster: 431 of 571 rows lost, tests/store/test_cluster.py)."""
    if not token or all(column.num_chunks <= 1 for column in data.columns):
        return data
    return data.combine_chunks()


def _chdb_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: _chdb_param(value) for key, value in (params or {}).items()}


# no JIT compilation of expressions: chDB keeps no compiled code between queries (its cache stays
# empty), so each panel query compiled again: up to 93 ms a query (docs/benchmarks.md)
_NO_JIT = ("compile_expressions", "compile_aggregate_expressions", "compile_sort_description")

# The dashboard asks the same panels again and again over the same parts: ClickHouse's cache of
# decompressed blocks spares their decompression (off by default; the engine's size is fixed by the first
# connection a process opens). Every read may use it, however many rows it reads (ClickHouse skips the
# cache above a million rows by default, the size of a month of turns): 10M spans, all panels at 30 d
# 1,393 -> 1,151 ms, slowest_turns 147 -> 71 (docs/benchmarks.md).
DEFAULT_READ_CACHE_MB = 512
_READ_CACHE = {
    "use_uncompressed_cache": 1,
    "merge_tree_max_rows_to_use_cache": 1 << 62,
    "merge_tree_max_bytes_to_use_cache": 1 << 62,
}


def _setting_literal(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.translate(_TSV_ESCAPES).replace("'", "\\'") + "'"


class ChdbEngine:
    """Embedded ClickHouse (chDB) on a local data directory."""

    def __init__(
        self,
        path: Path,
        database: str,
        pool_size: int = 8,
        settings: Mapping[str, str | int] | None = None,
        read_cache_mb: int = DEFAULT_READ_CACHE_MB,
    ) -> None:
        import chdb  # deferred: importing the engine costs ~200 MB RSS

        self._chdb = chdb
        self._path = path.resolve()
        self._path.mkdir(parents=True, exist_ok=True)
        lock_data_dir(self._path)
        if first_open(self._path):
            # before ClickHouse loads the tables: a crash can leave a block recorded as stored whose
            # part never landed, and its replay would be skipped (store/dedup_log.py)
            repair_dedup_logs(self._path)
        self._database = database
        self._settings = {**dict.fromkeys(_NO_JIT, 0), **(_READ_CACHE if read_cache_mb else {}), **(settings or {})}
        # chDB takes server settings from the first connection's string (later ones share its instance)
        self._target = str(self._path)
        if read_cache_mb:
            self._target += f"?uncompressed_cache_size={read_cache_mb << 20}"
        try:
            bootstrap = chdb.connect(self._target)  # type: ignore[no-untyped-call]
            bootstrap.query(f"CREATE DATABASE IF NOT EXISTS `{_check_ident(database)}`")
        except Exception as exc:
            self._unlock()
            raise StorageError(f"cannot open chDB data directory {self._path}: {_first_line(exc)}") from exc
        self._bootstrap = bootstrap
        self._closed = False
        self._pool: _Pool[Any] = _Pool(self._connect, pool_size)

    @property
    def description(self) -> str:
        return f"chdb://{self._path} (database {self._database})"

    def _connect(self) -> Any:
        conn = self._chdb.connect(self._target)  # type: ignore[no-untyped-call]
        conn.query(f"USE `{self._database}`")
        for name, value in self._settings.items():
            conn.query(f"SET {_check_ident(name)} = {_setting_literal(value)}")
        return conn

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return _rows(self.query_arrow(sql, params))

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        with self._pool.connection() as conn:
            try:
                return conn.query(sql, "ArrowTable", params=_chdb_params(params))
            except Exception as exc:
                raise StorageError(_first_line(exc)) from exc

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self._pool.connection() as conn, self._write():
            try:
                conn.query(sql, "CSV", params=_chdb_params(params))
            except Exception as exc:
                raise StorageError(_first_line(exc)) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        try:
            yield
        finally:
            count_write(self._path)

    def writes(self) -> int | None:
        # every engine of this process on the data directory (no other process can open it) counts
        return writes_on(self._path)

    def insert_arrow(self, table: str, data: pa.Table, *, token: str = "") -> None:
        # INSERT ... SELECT FROM Python(): chDB's streaming insert (send_insert) returns normally when
        # a part cannot be written (full disk, a failing materialized view) and the rows vanish; this
        # path raises instead, at the same speed (measured, docs/reliability.md)
        data = _one_block(data, token)
        columns = ", ".join(f"`{_check_ident(name)}`" for name in data.column_names)
        target = f"`{_check_ident(table)}` ({columns})"
        sql = f"INSERT INTO {target} {_insert_settings(token)} SELECT {columns} FROM Python(data)"
        with self._pool.connection() as conn, self._write():
            try:
                conn.query(sql)  # chDB resolves Python(data) to this function's local `data`
            except Exception as exc:
                raise StorageError(_first_line(exc)) from exc

    def ping(self) -> None:
        self.query("SELECT 1 AS ok")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in [*self._pool.connections(), self._bootstrap]:
            with contextlib.suppress(Exception):
                conn.close()
        self._unlock()

    def _unlock(self) -> None:
        unlock_data_dir(self._path)


class HttpEngine:
    """A ClickHouse server over HTTP(S), via clickhouse-connect (one client per pooled slot)."""

    def __init__(
        self, url: str, database: str, pool_size: int = 8, settings: Mapping[str, str | int] | None = None
    ) -> None:
        import clickhouse_connect

        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        self._kwargs: dict[str, Any] = {
            "host": parsed.hostname or "localhost",
            "port": parsed.port or (8443 if parsed.scheme == "https" else 8123),
            "username": parsed.username or "default",
            "password": parsed.password or "",
            "secure": parsed.scheme == "https",
            "database": query.get("database", [database])[0],
            "settings": dict(settings or {}),
        }
        self._cc = clickhouse_connect
        self._display = f"{parsed.scheme}://{self._kwargs['host']}:{self._kwargs['port']}"
        self._database = self._kwargs["database"]
        try:
            bootstrap = clickhouse_connect.get_client(**{**self._kwargs, "database": "default"})
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{_check_ident(self._database)}`")
            bootstrap.close()
        except Exception as exc:
            if getattr(exc, "code", None) == 516:  # AUTHENTICATION_FAILED: reached, and refused
                raise StorageError(
                    f"ClickHouse at {self._display} refused user {self._kwargs['username']!r} (wrong user or "
                    f"password in the storage DSN): {self._error(exc)}"
                ) from exc
            raise StorageError(f"cannot reach ClickHouse at {self._display}: {self._error(exc)}") from exc
        self._pool: _Pool[Any] = _Pool(lambda: self._cc.get_client(**self._kwargs), pool_size)

    @property
    def description(self) -> str:
        return f"{self._display} (database {self._database})"

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return _rows(self.query_arrow(sql, params))

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        with self._pool.connection() as client:
            try:
                return client.query_arrow(sql, parameters=self._params(params))
            except Exception as exc:
                raise StorageError(self._error(exc)) from exc

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self._pool.connection() as client:
            try:
                client.command(sql, parameters=self._params(params))
            except Exception as exc:
                raise StorageError(self._error(exc)) from exc

    def insert_arrow(self, table: str, data: pa.Table, *, token: str = "") -> None:
        settings = {"insert_deduplication_token": check_token(token)} if token else None
        data = _one_block(data, token)  # an Arrow stream's record batches arrive as blocks
        with self._pool.connection() as client:
            try:
                client.insert_arrow(table, data, settings=settings)
            except Exception as exc:
                raise StorageError(self._error(exc)) from exc

    def writes(self) -> int | None:
        return None  # a server: the Collector or another dashboard may write it too

    def ping(self) -> None:
        self.query("SELECT 1 AS ok")

    class _Verbatim:
        """A parameter value clickhouse-connect sends as it is (its str)."""

        def __init__(self, text: str) -> None:
            self._text = text

        def __str__(self) -> str:
            return self._text

    @staticmethod
    def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
        # clickhouse-connect sends a dict as JSON by default, which a Map parameter does not parse
        # (CANNOT_PARSE_QUOTED_STRING), and a str with one more text escape, which a map literal must not
        # have (unlike a String value, a container's text is parsed as it is): send the literal verbatim
        return {
            key: HttpEngine._Verbatim(_chdb_param(value)) if isinstance(value, dict) else value
            for key, value in (params or {}).items()
        }

    @staticmethod
    def _error(exc: BaseException) -> str:
        # the server's own first line (`Code: N. DB::Exception: ...`, as chDB's), without
        # clickhouse-connect's wrapping and the request URL
        text = re.sub(r"^Received ClickHouse exception, code: \d+, server response: ", "", str(exc).strip())
        return _first_line(Exception(re.sub(r" \(for url [^)]*\)$", "", text.splitlines()[0] if text else text)))

    def close(self) -> None:
        for client in self._pool.connections():
            with contextlib.suppress(Exception):
                client.close()


def chdb_path(dsn: str) -> Path | None:
    """The data directory of a ``chdb://`` DSN; None for other schemes."""
    parsed = urlparse(dsn)
    if parsed.scheme != "chdb":
        return None
    path = parsed.netloc + parsed.path
    if not path:
        raise StorageError(f"chdb DSN needs a path, e.g. chdb:///var/lib/livekit-dashboard, got {dsn!r}")
    return Path(path)


def open_engine(
    dsn: str,
    database: str = "otel",
    pool_size: int = 8,
    settings: Mapping[str, str | int] | None = None,
    read_cache_mb: int = DEFAULT_READ_CACHE_MB,
) -> Engine:
    """Open storage named by a DSN: ``chdb:///abs/path`` (embedded) or ``http(s)://host:8123``; `settings`
    apply to every statement (a cluster's, store/cluster.py). `read_cache_mb` sizes the embedded engine's
    cache of decompressed blocks (0: none; a server keeps its own configuration)."""
    path = chdb_path(dsn)
    if path is not None:
        return ChdbEngine(path, database, pool_size, settings, read_cache_mb)
    parsed = urlparse(dsn)
    if parsed.scheme in ("http", "https"):
        return HttpEngine(dsn, database, pool_size, settings)
    raise StorageError(f"unsupported storage DSN {dsn!r}: use chdb:///path or http(s)://host:8123")


def _check_ident(name: str) -> str:
    # identifiers come from our own code and settings, never from requests; still, refuse odd ones
    if not name or not all(c.isalnum() or c in "_." for c in name):
        raise StorageError(f"invalid identifier {name!r}")
    return name


_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def check_token(token: str) -> str:
    """A deduplication token fit to write into SQL (letters, digits, `-_.:`); StorageError otherwise."""
    if not _TOKEN.fullmatch(token):
        raise StorageError(f"invalid insert deduplication token {token!r}")
    return token


def _insert_settings(token: str) -> str:
    return f"SETTINGS insert_deduplication_token = '{check_token(token)}'" if token else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]
