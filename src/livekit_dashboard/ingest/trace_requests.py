"""Trace requests kept whole (the setting decode_in_engine, off by default): an OTLP/protobuf trace
request that parsed whole is logged and queued as it came (its body, a row of REQUESTS), and the writer
has the embedded engine build its otel_traces rows (store/trace_decode.py) instead of building them in
Python under the GIL on the request's thread (ingest/spans.py). Requests are answered sooner; the server's
CPU per span is about the same (docs/benchmarks.md, `bench.engine_decode`).

Both decodes build the same rows (tests/ingest/test_trace_requests.py compares every table), and both
insert them as one block under the batch's deduplication token, so a retry after a crash stores the
batch once whichever decode runs then (the same test retries across them). A batch holding a value the
SQL does not render as pdata does (a key-value list, an array in an array, a key twice, some control
characters in an array's string), a body the engine reads otherwise than Python (a field sent twice: it
counts other valid spans) or cannot read (a value with two kinds set), a batch of fewer than
MIN_ENGINE_SPANS spans (a light load's: the engine's planning costs more than it saves) and every batch on
a ClickHouse server (it cannot read our files) are decoded in Python.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from livekit_dashboard.ingest.decode import Signal
from livekit_dashboard.ingest.rows import REQUESTS, REQUESTS_SCHEMA, Prepared, rows_in
from livekit_dashboard.ingest.spans import invalid_span, prepare_spans
from livekit_dashboard.store import Engine, StorageError, TraceDecoder
from livekit_dashboard.store import tables as schemas

__all__ = ["MIN_ENGINE_SPANS", "TraceRequests", "prepare_request", "python_rows"]

# the engine's decode costs about 75 ms of planning per insert (its two statements) and saves about 7 µs
# per span in-process: a smaller batch, the light load most servers see, is decoded in Python (docs/benchmarks.md)
MIN_ENGINE_SPANS = 5_000

log = logging.getLogger(__name__)


def prepare_request(request: Any, body: bytes) -> Prepared:
    """A parsed trace request for the engine's decode: its spans checked as ingest/spans.py checks them
    (the invalid ones counted, for the answer; the engine leaves them out too) and the body kept whole."""
    out = Prepared(Signal.TRACES)
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                reason = invalid_span(span)
                if reason:
                    out.reject(reason)
                else:
                    out.accepted += 1
    if out.accepted:
        out.tables[REQUESTS] = pa.Table.from_pydict({"Body": [body], "Spans": [out.accepted]}, schema=REQUESTS_SCHEMA)
    return out


def python_rows(requests: pa.Table) -> pa.Table:
    """The otel_traces rows of some requests, built in Python."""
    built = [prepare_spans(ExportTraceServiceRequest.FromString(body)).tables for body in requests["Body"].to_pylist()]
    parts = [t["otel_traces"] for t in built if "otel_traces" in t]
    return pa.concat_tables(parts) if parts else schemas.TRACES.empty_table()


class TraceRequests:
    """Stores the trace requests of a batch: decoded by the engine when `workdir` is given (an embedded
    engine reads the request files written there) and the batch holds at least `min_spans` spans, else
    in Python."""

    def __init__(self, engine: Engine, workdir: Path | None = None, *, min_spans: int = MIN_ENGINE_SPANS) -> None:
        self._engine = engine
        self._min_spans = min_spans
        self.fallbacks = 0  # batches the engine could have decoded, decoded in Python (why: logged)
        self._decoder: TraceDecoder | None = None
        if workdir is not None:
            try:
                self._decoder = TraceDecoder(engine, workdir)
            except (ValueError, OSError, StorageError) as exc:  # a path the engine cannot be given, a full disk,
                # functions it refuses: every batch decoded in Python
                log.warning("trace requests are decoded in Python: %s", exc)

    @property
    def in_engine(self) -> bool:
        return self._decoder is not None

    def insert(self, requests: pa.Table, *, token: str) -> None:
        """Store the requests' valid spans in otel_traces (so in every view fed by it) under `token`: one
        block whichever decode built it, so a retry under the same token is skipped either way."""
        spans = rows_in({REQUESTS: requests})
        if self._decoder is not None and spans >= self._min_spans:
            why = self._decoder.insert(requests["Body"].to_pylist(), spans=spans, token=token)
            if not why:
                return
            self.fallbacks += 1
            log.info("%d trace requests decoded in Python: %s", requests.num_rows, why)
        self._engine.insert_arrow("otel_traces", python_rows(requests), token=token)
