"""Prometheus metrics of the server itself at GET /metrics, in the text exposition format of the
standard client library (prometheus-client): what an operator alerts on — ingest refusing or rejecting
data, the queue and write-ahead log filling, inserts slowing, requests failing or slowing per route,
keys being guessed, storage growing per table. docs/api.md lists every series.

Each server has its own registry (tests run several servers in one process). Counters that already
exist elsewhere (ingest statistics, authorization refusals) are read when scraped, not kept twice;
histograms are observed as requests and inserts happen.
"""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from livekit_dashboard import __version__
from livekit_dashboard.api.auth import Authorizer
from livekit_dashboard.api.services import services
from livekit_dashboard.api.timing import TimedHttpMiddleware
from livekit_dashboard.ingest import Ingestor
from livekit_dashboard.store import Engine, TableSize, engine_memory, table_sizes

__all__ = ["HttpMetricsMiddleware", "ServerMetrics", "metrics_router"]

_PREFIX = "livekit_dashboard"
# request and insert durations: milliseconds to tens of seconds
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ROWS = (1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000)
_STORAGE_TTL_S = 30.0  # table sizes are read at most this often (system.parts is cheap, not free)


class _Snapshot(Collector):
    """Read at scrape time: ingest counters and state, authorization refusals, storage per table."""

    def __init__(
        self, ingestor: Ingestor, authorizer: Authorizer, engine: Engine, alerts: Callable[[], dict[str, int]]
    ) -> None:
        self._alerts = alerts
        self._ingestor = ingestor
        self._authorizer = authorizer
        self._engine = engine
        self._lock = threading.Lock()
        self._tables: list[TableSize] = []
        self._tables_at = 0.0

    def _storage(self) -> list[TableSize]:
        with self._lock:
            if time.monotonic() - self._tables_at > _STORAGE_TTL_S:
                self._tables = table_sizes(self._engine)
                self._tables_at = time.monotonic()
            return self._tables

    def describe(self) -> list[Metric]:
        # (else registering would collect once, reading storage before the server has started)
        return []

    def collect(self) -> Iterator[Metric]:
        stats = self._ingestor.stats()
        items = CounterMetricFamily(
            f"{_PREFIX}_ingest_items",
            "Spans, log records and metric data points since start, by signal and outcome (stored: "
            "acknowledged, in the write-ahead log; rejected: invalid items of an accepted request)",
            labels=["signal", "outcome"],
        )
        for signal in ("traces", "logs", "metrics"):
            for outcome in ("received", "stored", "rejected"):
                items.add_metric([signal, outcome], stats[signal][outcome])
        yield items
        requests = CounterMetricFamily(
            f"{_PREFIX}_ingest_requests",
            "Ingest requests since start that were refused (503: the queue was full; the client retries) "
            "or were a resend of one already stored (answered, not stored twice)",
            labels=["outcome"],
        )
        requests.add_metric(["refused"], stats["refused_requests"])
        requests.add_metric(["duplicate"], stats["duplicate_requests"])
        yield requests
        rows = CounterMetricFamily(
            f"{_PREFIX}_ingest_rows",
            "Rows since start that storage refused and were set aside in the quarantine file, or were "
            "replayed from the write-ahead log after a restart",
            labels=["outcome"],
        )
        rows.add_metric(["quarantined"], stats["quarantined_rows"])
        rows.add_metric(["recovered"], stats["recovered_rows"])
        yield rows
        yield GaugeMetricFamily(
            f"{_PREFIX}_ingest_queue_rows", "Rows acknowledged and waiting to be inserted", value=stats["queue_depth"]
        )
        yield GaugeMetricFamily(
            f"{_PREFIX}_wal_bytes", "Bytes the write-ahead log holds on disk", value=stats["wal_bytes"]
        )
        free = GaugeMetricFamily(
            f"{_PREFIX}_disk_free_bytes",
            "Free bytes on the disk of each directory ingest writes to (the data and the write-ahead log; "
            "ingest refuses data below its reserve)",
            labels=["path"],
        )
        for path, free_bytes in sorted(stats["free_disk_bytes"].items()):
            free.add_metric([path], free_bytes)
        yield free
        refused = CounterMetricFamily(
            f"{_PREFIX}_auth_refusals",
            "Requests refused since start for their credentials: unauthenticated (missing, invalid or "
            "revoked key or token), forbidden (the key's role lacks the permission), rate_limited (too "
            "many invalid keys from an address)",
            labels=["reason"],
        )
        counts = self._authorizer.refusals()
        for reason in ("unauthenticated", "forbidden", "rate_limited"):
            refused.add_metric([reason], counts.get(reason, 0))
        yield refused
        size = GaugeMetricFamily(
            f"{_PREFIX}_storage_bytes",
            "Bytes on disk per table (active parts; read at most every 30 s)",
            labels=["table"],
        )
        count = GaugeMetricFamily(
            f"{_PREFIX}_storage_rows", "Rows per table (active parts; read at most every 30 s)", labels=["table"]
        )
        for table in self._storage():
            size.add_metric([table.table], table.bytes)
            count.add_metric([table.table], table.rows)
        yield size
        yield count
        memory = GaugeMetricFamily(
            f"{_PREFIX}_engine_memory_bytes",
            "Memory the storage engine holds now (tracked: all it accounts for, its caches included; "
            "uncompressed_cache: decompressed blocks kept for re-reads, at most read_cache_mb; mark_cache)",
            labels=["kind"],
        )
        for kind, held in sorted(engine_memory(self._engine).items()):
            memory.add_metric([kind], held)
        yield memory
        alerts = self._alerts()
        evaluations = CounterMetricFamily(
            f"{_PREFIX}_alert_evaluations",
            "Alert rule evaluations since start (failed: the measure could not be computed)",
            labels=["outcome"],
        )
        evaluations.add_metric(["ok"], alerts.get("evaluations", 0))
        evaluations.add_metric(["failed"], alerts.get("evaluation_errors", 0))
        yield evaluations
        events = CounterMetricFamily(f"{_PREFIX}_alert_events", "Alert events since start, by state", labels=["state"])
        for state in ("firing", "resolved", "test"):
            events.add_metric([state], alerts.get(f"events_{state}", 0))
        yield events
        notifications = CounterMetricFamily(
            f"{_PREFIX}_alert_notifications",
            "Alert notifications since start, per channel: delivered, or failed after all attempts",
            labels=["outcome"],
        )
        notifications.add_metric(["delivered"], alerts.get("delivered", 0))
        notifications.add_metric(["failed"], alerts.get("delivery_failures", 0))
        yield notifications
        yield GaugeMetricFamily(f"{_PREFIX}_alerts_firing", "Alert rules firing now", value=alerts.get("firing", 0))
        info = InfoMetricFamily(f"{_PREFIX}_build", "The server's version, Python and storage engine")
        info.add_metric(
            [], {"version": __version__, "python": platform.python_version(), "storage": self._engine.description}
        )
        yield info


class ServerMetrics:
    """One server's metrics: its registry, the histograms it observes, and the collector it reads."""

    def __init__(
        self, ingestor: Ingestor, authorizer: Authorizer, engine: Engine, alerts: Callable[[], dict[str, int]]
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            f"{_PREFIX}_http_request_duration_seconds",
            "HTTP requests by route (its template, e.g. /api/v1/panels/{name}), method and status",
            ["route", "method", "status"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.insert_seconds = Histogram(
            f"{_PREFIX}_insert_duration_seconds",
            "Inserts of a batch of acknowledged requests into storage, until stored",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.insert_rows = Histogram(
            f"{_PREFIX}_insert_batch_rows", "Rows per insert batch", buckets=_ROWS, registry=self.registry
        )
        self.registry.register(_Snapshot(ingestor, authorizer, engine, alerts))
        ingestor.observe_inserts(self.observe_insert)

    def observe_insert(self, seconds: float, rows: int) -> None:
        self.insert_seconds.observe(seconds)
        self.insert_rows.observe(rows)

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))


class HttpMetricsMiddleware(TimedHttpMiddleware):
    """Times every HTTP request by its route template (never the raw path: ids would make a series
    each) and status; requests no route matched count under the mount that served them, or
    "unmatched"."""

    def __init__(self, app: Any, metrics: ServerMetrics) -> None:
        super().__init__(app)
        self._requests = metrics.requests

    def finished(self, scope: Any, status: int, seconds: float) -> None:
        template = getattr(scope.get("route"), "path", None) or _mounted(scope["path"])
        self._requests.labels(template, scope["method"], str(status)).observe(seconds)


def _mounted(path: str) -> str:
    """The label of a request no route matched: the mount that served it (static files), or unmatched."""
    return next((prefix for prefix in _MOUNTS if path.startswith(f"{prefix}/")), "unmatched")


_MOUNTS = ("/static", "/docs/assets")

metrics_router = APIRouter(tags=["Health"])


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics of this server (text exposition format); docs/api.md lists them",
    response_class=Response,
)
async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(services(request).metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
