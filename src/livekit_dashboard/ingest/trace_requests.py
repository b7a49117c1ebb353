"""Trace requests kept whole: an OTLP/protobuf trace request that parsed whole is logged and queued as
it came (its body, a row of REQUESTS), and the writer has the embedded engine build its otel_traces rows
(store/trace_decode.py) instead of building them in Python under the GIL (ingest/spans.py): about 10 µs
of CPU per span less (docs/benchmarks.md, `bench.engine_decode`).

Both decodes store the same rows (tests/ingest/test_trace_requests.py compares every table). A batch
holding a value the SQL does not render as pdata does (a key-value list, an array in an array, a key
twice) is decoded in Python, as is a batch of fewer than MIN_ENGINE_SPANS spans (a light load's: the
engine's planning costs more than it saves) and every batch on a ClickHouse server, which cannot read
our files.
Either way the insert carries the batch's deduplication token, so a retry after a crash stores the
batch once whichever decode runs.
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
from livekit_dashboard.store import Engine, TraceDecoder
from livekit_dashboard.store import tables as schemas

__all__ = ["MIN_ENGINE_SPANS", "TraceRequests", "prepare_request", "python_rows"]

# the engine's decode costs about 75 ms of planning per insert (its two statements) and saves about 10 µs
# per span: a smaller batch, the light load most servers see, is decoded in Python (docs/benchmarks.md)
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
        self._decoder: TraceDecoder | None = None
        if workdir is not None:
            try:
                self._decoder = TraceDecoder(engine, workdir)
            except ValueError as exc:  # a path the engine cannot be given: every batch decoded in Python
                log.warning("trace requests are decoded in Python: %s", exc)

    @property
    def in_engine(self) -> bool:
        return self._decoder is not None

    def insert(self, requests: pa.Table, *, token: str) -> None:
        """Store the requests' valid spans in otel_traces (so in every view fed by it) under `token`."""
        engine = self._decoder is not None and rows_in({REQUESTS: requests}) >= self._min_spans
        if engine and self._decoder is not None and self._decoder.insert(requests["Body"].to_pylist(), token=token):
            return
        self._engine.insert_arrow("otel_traces", python_rows(requests), token=token)
