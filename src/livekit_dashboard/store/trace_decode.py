"""The engine's decode of OTLP trace requests: an embedded engine reads protobuf request bodies from a
file (ClickHouse's Protobuf input format, the schema in otlp/trace_request.proto) and builds their
otel_traces rows itself in SQL (otlp/trace_rows.sql, with the functions of otlp/trace_functions.sql), the
rows ingest/spans.py builds in Python. ingest/trace_requests.py decides which decode a batch gets.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from livekit_dashboard.store import tables
from livekit_dashboard.store.engine import Engine, StorageError

__all__ = ["TraceDecoder"]

_TOKEN = re.compile(r"^[A-Za-z0-9_.:-]+$")
_FILES = max(1, min(4, os.cpu_count() or 1))
_UNQUOTABLE = re.compile(r"[*?{}\[\]'\\]")
# squash everything an insert reads into one block, as insert_arrow does (Engine._one_block)
_ONE_BLOCK = "min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 1000000000000"

# the columns the engine reads a request into (their names are trace_request.proto's fields); a value's
# `value` says which of its fields is set (input_format_protobuf_oneof_presence)
_KINDS = ("string_value", "bool_value", "int_value", "double_value", "array_value", "kvlist_value", "bytes_value")
_ONEOF = "Enum8(''none'' = 0, {})".format(", ".join(f"''{name}'' = {i}" for i, name in enumerate(_KINDS, 1)))
_FIELDS = "string_value String, bool_value Bool, int_value Int64, double_value Float64, bytes_value String"
_ELEMENT = f"Tuple({_FIELDS}, value {_ONEOF})"  # an array's element: read one level deep
_VALUE = f"Tuple({_FIELDS}, array_value Tuple(values Array({_ELEMENT})), value {_ONEOF})"
_ATTRIBUTES = f"Array(Tuple(key String, value {_VALUE}))"
_STRUCTURE = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {_ATTRIBUTES}), scope_spans Array(Tuple("
    "scope Tuple(name String, version String), spans Array(Tuple(trace_id String, span_id String, "
    "trace_state String, parent_span_id String, name String, kind Int32, start_time_unix_nano UInt64, "
    f"end_time_unix_nano UInt64, attributes {_ATTRIBUTES}, "
    f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {_ATTRIBUTES})), "
    f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {_ATTRIBUTES})), "
    "status Tuple(message String, code Int32)))))))"
)


@functools.cache
def _text(name: str) -> str:
    return resources.files("livekit_dashboard.store").joinpath("otlp", name).read_text(encoding="utf-8")


class TraceDecoder:
    """Inserts OTLP trace requests into otel_traces, decoded by an embedded engine, which reads the files
    written in `workdir` (a ClickHouse server cannot: it has no access to them). ValueError for a
    `workdir` whose path a file() pattern cannot hold."""

    def __init__(self, engine: Engine, workdir: Path) -> None:
        self._engine = engine
        self._workdir = workdir
        self._files = itertools.count()
        if _UNQUOTABLE.search(str(workdir)):  # the path goes into a file() pattern as a literal
            raise ValueError(
                f"the engine cannot read request files under {workdir}: rename it without * ? {{ }} [ ] ' \\"
            )
        workdir.mkdir(parents=True, exist_ok=True)
        for left in workdir.glob("requests-*.bin"):  # a crash's, never inserted from (the log replays it)
            left.unlink(missing_ok=True)
        self._schema = workdir / "trace_request.proto"
        self._schema.write_text(_text("trace_request.proto"), encoding="utf-8")
        for statement in _text("trace_functions.sql").split(";"):
            if any(line.strip() and not line.lstrip().startswith("--") for line in statement.splitlines()):
                engine.command(statement)

    def insert(self, bodies: Sequence[bytes], *, token: str) -> bool:
        """Store the requests' valid spans under `token` (a retry under the same token stores them once);
        False, storing nothing, when one holds a value the SQL does not render as the Python decode does
        (otlp/trace_requests_plain.sql)."""
        if not _TOKEN.match(token):
            raise ValueError(f"a deduplication token is letters, digits and -_.: ({token!r})")
        batch = next(self._files)
        # the bodies in as many files as cores (up to 4): the engine reads, parses and converts one file
        # per thread, into one block (one part per table, and the same block again on a retry)
        paths = [self._workdir / f"requests-{batch}-{i}.bin" for i in range(min(_FILES, len(bodies)))]
        try:
            for i, path in enumerate(paths):
                _write(path, bodies[i :: len(paths)])
            names = (
                paths[0].name
                if len(paths) == 1
                else f"requests-{batch}-{{{','.join(map(str, range(len(paths))))}}}.bin"
            )
            source = f"file('{self._workdir / names}', 'Protobuf', '{_STRUCTURE}')"
            settings = (
                f"format_schema = '{self._schema}:ExportTraceServiceRequest', "
                "input_format_protobuf_oneof_presence = 1, output_format_json_escape_forward_slashes = 0"
            )
            plain = _text("trace_requests_plain.sql").replace("{{requests}}", source)
            if self._engine.query(f"{plain}\nSETTINGS {settings}")[0]["n"]:
                return False
            columns = ", ".join(f"`{name}`" for name in tables.TRACES.names)
            rows = _text("trace_rows.sql").replace("{{requests}}", source)
            insert = (
                f"INSERT INTO otel_traces ({columns}) SETTINGS insert_deduplication_token = '{token}', {settings}, "
                f"{_ONE_BLOCK}, parallel_view_processing = 1"
            )
            self._engine.command(f"{insert}\n{rows}")
            return True
        finally:
            for path in paths:
                with contextlib.suppress(OSError):
                    path.unlink()


def _write(path: Path, bodies: Sequence[bytes]) -> None:
    """The bodies as a length-delimited stream: each after its length (a varint)."""
    try:
        with path.open("wb") as out:
            for body in bodies:
                out.write(_varint(len(body)))
                out.write(body)
    except OSError as exc:  # a full disk: the caller's batch stays logged and queued, and is retried
        raise StorageError(f"could not write {path}: {exc.strerror or exc}") from exc


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
