"""The engine's decode of OTLP trace requests: an embedded engine reads protobuf request bodies from a
file (ClickHouse's Protobuf input format, the schema in otlp/trace_request.proto) and builds their
otel_traces rows itself in SQL (otlp/trace_rows.sql, with the functions of otlp/trace_functions.sql), the
rows ingest/spans.py builds in Python, and inserts them. ingest/trace_requests.py decodes in Python what
the engine does not.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from livekit_dashboard.store import tables
from livekit_dashboard.store.engine import Engine, StorageError, check_token

__all__ = ["TraceDecoder"]

# everything an insert reads squashed into one block, as insert_arrow inserts (Engine._one_block): its
# deduplication ids are then the same as the Python decode's under the same token (one file, one stream)
_ONE_BLOCK = "min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 1000000000000"
_UNQUOTABLE = re.compile(r"[*?{}\[\]'\\:]")  # a glob, a quote, or format_schema's separator

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
    """Stores OTLP trace requests in otel_traces, decoded by an embedded engine, which reads the files
    written in `workdir` (a ClickHouse server cannot: it has no access to them). ValueError for a
    `workdir` whose path a file() pattern cannot hold."""

    def __init__(self, engine: Engine, workdir: Path) -> None:
        self._engine = engine
        self._workdir = workdir
        self._files = itertools.count()
        if _UNQUOTABLE.search(str(workdir)):  # the path goes into a file() pattern as a literal
            raise ValueError(
                f"the engine cannot read request files under {workdir}: rename it without * ? {{ }} [ ] ' \\ :"
            )
        workdir.mkdir(parents=True, exist_ok=True)
        for left in workdir.glob("requests-*.bin"):  # a crash's, never inserted from (the log replays it)
            left.unlink(missing_ok=True)
        self._schema = workdir / "trace_request.proto"
        self._schema.write_text(_text("trace_request.proto"), encoding="utf-8")
        for statement in _text("trace_functions.sql").split(";"):
            if any(line.strip() and not line.lstrip().startswith("--") for line in statement.splitlines()):
                engine.command(statement)

    def insert(self, bodies: Sequence[bytes], *, spans: int, token: str) -> str:
        """Store the requests' valid spans in otel_traces under `token`, in one block as insert_arrow
        stores rows (so a retry under the same token is skipped whichever way the batch is decoded
        then). Returns "" once stored, else why the engine stored nothing and the Python decode must: a
        value the SQL does not render as Python does (otlp/trace_functions.sql, lkd_otlp_plain), a body
        the engine reads otherwise than Python (it finds another number of valid spans than `spans`), or
        one it cannot read (a value with two of its kinds set)."""
        path = self._workdir / f"requests-{next(self._files)}.bin"
        try:
            _write(path, bodies)
            source = f"file('{path}', 'Protobuf', '{_STRUCTURE}')"
            settings = (
                f"format_schema = '{self._schema}:ExportTraceServiceRequest', "
                "input_format_protobuf_oneof_presence = 1, output_format_json_escape_forward_slashes = 0"
            )
            try:
                check_sql = _text("trace_requests_check.sql").replace("{{requests}}", source)
                check = self._engine.query(f"{check_sql}SETTINGS {settings}")[0]
            except StorageError as exc:
                return f"the engine cannot read them: {exc}"
            if check["odd"]:
                return f"{check['odd']} spans hold values the engine's decode does not render"
            if check["valid"] != spans:
                return f"the engine reads {check['valid']} valid spans where Python reads {spans}"
            columns = ", ".join(f"`{name}`" for name in tables.TRACES.names)
            self._engine.command(
                f"INSERT INTO otel_traces ({columns}) SETTINGS insert_deduplication_token = '{check_token(token)}', "
                f"{settings}, {_ONE_BLOCK}\n" + _text("trace_rows.sql").replace("{{requests}}", source)
            )
            return ""
        finally:
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
