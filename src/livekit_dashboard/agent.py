"""The worker-side setup helper: one call at worker start sends a livekit-agents worker's traces,
metrics and logs to a livekit-dashboard server, and each call's SessionReport at its end.

    pip install "livekit-dashboard[agent]"

    from livekit_dashboard.agent import setup_observability

    observability = setup_observability("http://127.0.0.1:4318", service_name="support-agent")

    async def entrypoint(ctx: JobContext) -> None:
        session = AgentSession(...)
        observability.attach(ctx, session, user_email="caller@example.com", assistant_id="support-v2")
        await session.start(agent=Assistant(), room=ctx.room)

It runs inside the worker (it imports livekit-agents and the OpenTelemetry SDK); the server never
imports it (an import-linter contract keeps it so). See docs/connect.md.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from livekit.agents import AgentSession, JobContext, get_job_context
from livekit.agents.telemetry import set_tracer_provider
from opentelemetry import context as otel_context
from opentelemetry import metrics
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from livekit_dashboard import __version__

__all__ = ["SECONDS_BUCKETS", "TOKEN_BUCKETS", "Observability", "setup_observability"]

log = logging.getLogger("livekit_dashboard.agent")

# explicit bucket boundaries for every histogram measured in seconds (lk.agents.turn.*, gen_ai.client.*
# durations, tool and agent-turn durations): the SDK's defaults (0, 5, 10, 25, ...) put every sub-5 s
# latency in one bucket
SECONDS_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0,
    15.0, 20.0, 30.0, 60.0,
)  # fmt: skip
# gen_ai.client.token.usage: the OpenTelemetry GenAI conventions' advice
TOKEN_BUCKETS: tuple[float, ...] = tuple(float(4**i) for i in range(14))

# a span attribute the framework's stamping processor needs a non-empty metadata for (it then stamps
# every span with the job's room_id and job_id as well)
_DEFAULT_METADATA = {"livekit_dashboard.helper": __version__}
_FLUSH_TIMEOUT_S = 4.0
_REPORT_TIMEOUT_S = 5.0

OtlpProtocol = Literal["http", "grpc"]


def _is_pii_key(key: str) -> bool:
    return "pii" in key.split(".")


class _JobIdentities(SpanProcessor):
    """Stamps the current job's identities (`user.email`, `assistant.id`: what the dashboard reads for
    a call's user and assistant) on every span the job starts, and notes the trace of its session."""

    def __init__(self) -> None:
        self._attributes: dict[str, dict[str, str]] = {}
        self._traces: dict[str, str] = {}

    def set(self, job_id: str, attributes: dict[str, str]) -> None:
        self._attributes[job_id] = dict(attributes)

    def get(self, job_id: str) -> dict[str, str]:
        return self._attributes.get(job_id, {})

    def trace_id(self, job_id: str) -> str:
        return self._traces.get(job_id, "")

    def forget(self, job_id: str) -> None:
        self._attributes.pop(job_id, None)
        self._traces.pop(job_id, None)

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        ctx = get_job_context(required=False)
        if ctx is None:
            return
        attributes = self._attributes.get(ctx.job.id)
        if attributes is None:
            return
        if attributes:
            span.set_attributes(attributes)
        if span.name == "agent_session":
            self._traces[ctx.job.id] = format(span.get_span_context().trace_id, "032x")


class _DropPiiLogAttributes(LogRecordProcessor):
    """capture_content=False: log attributes the framework marks as user data (`lk.pii.*`) are dropped
    before any exporter sees them (spans get the same from the framework's allow_pii=False)."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        attributes = log_record.log_record.attributes
        if attributes:
            for key in [k for k in attributes if _is_pii_key(k)]:
                del attributes[key]  # type: ignore[attr-defined]  # the SDK's BoundedAttributes is mutable

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _NotTheExportersOwnLogs(logging.Filter):
    """The exporters log their failures; exporting those again would feed an unreachable server."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("opentelemetry")


def _run_bounded(actions: list[Callable[[], object]], timeout_s: float) -> bool:
    """Run the actions on daemon threads in parallel; True when all finished in time and none answered
    False (a provider's flush can block on an unreachable server far longer than a job may take)."""
    results: list[object] = []

    def run(action: Callable[[], object]) -> None:
        try:
            results.append(action())
        except Exception:
            log.warning("flushing telemetry failed", exc_info=True)
            results.append(False)

    threads = [threading.Thread(target=run, args=(a,), daemon=True, name="lkd-flush") for a in actions]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return len(results) == len(actions) and all(r is not False for r in results)


@dataclass(frozen=True, slots=True)
class _Settings:
    endpoint: str
    http_endpoint: str
    api_key: str | None
    service_name: str
    protocol: OtlpProtocol
    capture_content: bool
    metadata: tuple[tuple[str, Any], ...]
    log_level: int


def _exporters(s: _Settings) -> tuple[SpanExporter, MetricExporter, LogRecordExporter]:
    headers = {"authorization": f"Bearer {s.api_key}"} if s.api_key else {}
    if s.protocol == "grpc":
        from grpc import Compression as GrpcCompression
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans

        insecure = not s.endpoint.startswith("https://")
        grpc_options: dict[str, Any] = {
            "endpoint": s.endpoint,
            "insecure": insecure,
            "headers": headers,
            "compression": GrpcCompression.Gzip,
        }
        return GrpcSpans(**grpc_options), GrpcMetrics(**grpc_options), GrpcLogs(**grpc_options)
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return (
        OTLPSpanExporter(endpoint=f"{s.endpoint}/v1/traces", headers=headers, compression=Compression.Gzip),
        OTLPMetricExporter(endpoint=f"{s.endpoint}/v1/metrics", headers=headers, compression=Compression.Gzip),
        OTLPLogExporter(endpoint=f"{s.endpoint}/v1/logs", headers=headers, compression=Compression.Gzip),
    )


@dataclass(eq=False)
class Observability:
    """What setup_observability installed: the three providers, and per job `attach`."""

    endpoint: str
    http_endpoint: str
    api_key: str | None
    service_name: str
    protocol: OtlpProtocol
    capture_content: bool
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    log_handler: LoggingHandler
    _identities: _JobIdentities
    _settings: _Settings
    _sessions: dict[str, AgentSession[Any] | None] = field(default_factory=dict)  # per attached job (None: no report)
    _closed: bool = False

    def attach(
        self,
        ctx: JobContext,
        session: AgentSession[Any] | None = None,
        *,
        user_email: str | None = None,
        assistant_id: str | None = None,
    ) -> None:
        """Call in the job's entrypoint, before `session.start()`: every span the job starts from now on
        carries `user.email` / `assistant.id` (the call's user and assistant on the dashboard). At the
        job's end (a shutdown callback) the telemetry is flushed and, with a `session`, its
        SessionReport is posted to `{http_endpoint}/v1/usage` (the call's usage record, exactly the
        framework's `session.usage`). A failed post is logged, never raised."""
        if session is not None and not self.http_endpoint:
            raise ValueError("posting the session report needs setup_observability(http_endpoint=...) with gRPC")
        job_id = ctx.job.id
        identity = {}
        if user_email:
            identity["user.email"] = user_email
        if assistant_id:
            identity["assistant.id"] = assistant_id
        self._identities.set(job_id, identity)
        if job_id in self._sessions:
            # a second call for the job (e.g. once the caller is known): its identities and session apply
            if session is not None:
                self._sessions[job_id] = session
            return
        self._sessions[job_id] = session

        async def livekit_dashboard_flush(reason: str) -> None:
            try:
                if (job_session := self._sessions.get(job_id)) is not None:
                    report = self._report(ctx, job_session, self._identities.get(job_id))
                    if report is not None:
                        await asyncio.to_thread(self._post_report, report)
            finally:
                await asyncio.to_thread(self.force_flush)
                self._identities.forget(job_id)
                self._sessions.pop(job_id, None)

        ctx.add_shutdown_callback(livekit_dashboard_flush)

    def _report(self, ctx: JobContext, session: AgentSession[Any], identity: dict[str, str]) -> dict[str, Any] | None:
        try:
            # without the chat history and events: the server keeps neither, and they hold content
            report: dict[str, Any] = ctx.make_session_report(session).to_dict(
                include_chat_history=False, include_events=False
            )
        except Exception:
            log.warning("could not build the session report of job %s", ctx.job.id, exc_info=True)
            return None
        report["usage"] = report.get("usage") or []
        report["service"] = self.service_name
        if trace_id := self._identities.trace_id(ctx.job.id):
            report["trace_id"] = trace_id
        if "user.email" in identity:
            report["user_email"] = identity["user.email"]
        if "assistant.id" in identity:
            report["assistant_id"] = identity["assistant.id"]
        return report

    def _post_report(self, report: dict[str, Any]) -> bool:
        """POST /v1/usage, retried while the server answers 503 or cannot be reached, within a few seconds."""
        url = f"{self.http_endpoint}/v1/usage"
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = json.dumps(report, default=str).encode()
        deadline = time.monotonic() + _REPORT_TIMEOUT_S
        while True:
            wait_s = 0.5
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=max(0.5, deadline - time.monotonic())) as answer:  # noqa: S310
                    answer.read()
                return True
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                if exc.code != 503:
                    log.warning("the dashboard refused the session report of %s: %s %s", url, exc.code, detail)
                    return False
                retry_after = exc.headers.get("Retry-After", "")
                wait_s = float(retry_after) if retry_after.isdigit() else 1.0
                problem = f"503 {detail}"
            except (urllib.error.URLError, OSError) as exc:
                problem = str(exc)
            if time.monotonic() + wait_s >= deadline:
                log.warning("could not post the session report to %s: %s", url, problem)
                return False
            time.sleep(wait_s)

    def force_flush(self, timeout_s: float = _FLUSH_TIMEOUT_S) -> bool:
        """Export what the three providers hold now (metrics: collected now); bounded by `timeout_s`."""
        millis = int(timeout_s * 1000)
        return _run_bounded(
            [
                lambda: self.tracer_provider.force_flush(millis),
                lambda: self.meter_provider.force_flush(millis),
                lambda: self.logger_provider.force_flush(millis),
            ],
            timeout_s,
        )

    def shutdown(self) -> None:
        """Flush and stop the providers (registered with atexit; idempotent)."""
        if self._closed:
            return
        self._closed = True
        logging.getLogger().removeHandler(self.log_handler)
        _run_bounded(
            [self.tracer_provider.shutdown, self.meter_provider.shutdown, self.logger_provider.shutdown],
            _FLUSH_TIMEOUT_S * 2,
        )


_lock = threading.Lock()
_installed: Observability | None = None


def _normalized(endpoint: str, protocol: OtlpProtocol) -> str:
    """The server's address without a trailing slash; gRPC also takes a bare `host:port`."""
    endpoint = endpoint.strip().rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme in ("http", "https") and parts.netloc:
        if parts.path:
            raise ValueError(f"endpoint {endpoint!r}: give the server's address without a path ({parts.path!r})")
        return endpoint
    if protocol == "grpc" and endpoint:
        return endpoint
    port = 4317 if protocol == "grpc" else 4318
    raise ValueError(f"endpoint {endpoint!r}: expected the server's address, e.g. http://127.0.0.1:{port}")


def setup_observability(
    endpoint: str = "http://127.0.0.1:4318",
    *,
    api_key: str | None = None,
    service_name: str = "livekit-agent",
    protocol: OtlpProtocol = "http",
    capture_content: bool = True,
    metadata: Mapping[str, Any] | None = None,
    http_endpoint: str | None = None,
    log_level: int = logging.INFO,
) -> Observability:
    """Send this worker process's telemetry to a livekit-dashboard server. Call once per process at
    worker start (module import or prewarm), before any job runs; a second call returns the same object.

    - `endpoint`: the server's OTLP/HTTP address (`http://<host>:4318`), or with `protocol="grpc"` its
      OTLP/gRPC address (`http://<host>:4317`; `https://` for TLS).
    - `api_key`: an ingest key (`Authorization: Bearer <key>` on every export and report), when the
      server requires keys.
    - `service_name`: the `service.name` resource attribute (the dashboard's service filter).
    - `capture_content`: False keeps conversation text, tool arguments and results off the spans
      (livekit-agents' `allow_pii=False`) and `lk.pii.*` attributes off the log records.
    - `metadata`: attributes stamped on every span (e.g. `{"assistant.id": "support-v2"}` when the
      process serves one assistant); the framework adds the job's `room_id` and `job_id`.
    - `http_endpoint`: where session reports are posted (`/v1/usage`); defaults to `endpoint` with
      HTTP, and is needed with gRPC to post reports.
    - `log_level`: the least severe log records exported (the worker's dev mode logs at DEBUG; the
      root logger's level applies too).

    Installs a TracerProvider handed to livekit-agents (`set_tracer_provider`), the global
    MeterProvider (with second-scale histogram buckets for the framework's latency histograms) and
    the global LoggerProvider with a LoggingHandler on the root logger; flushed and shut down at
    process exit.
    """
    global _installed
    if protocol not in ("http", "grpc"):
        raise ValueError(f"protocol {protocol!r}: expected 'http' or 'grpc'")
    settings = _Settings(
        endpoint=_normalized(endpoint, protocol),
        http_endpoint=_normalized(http_endpoint, "http") if http_endpoint else "",
        api_key=api_key or None,
        service_name=service_name,
        protocol=protocol,
        capture_content=capture_content,
        metadata=tuple(sorted((metadata or {}).items())),
        log_level=log_level,
    )
    if protocol == "http" and not settings.http_endpoint:
        settings = dataclasses.replace(settings, http_endpoint=settings.endpoint)
    with _lock:
        if _installed is not None:
            if _installed._settings != settings:
                log.warning("setup_observability was already called in this process; its first settings apply")
            return _installed
        _installed = _install(settings)
        atexit.register(_installed.shutdown)
        return _installed


def _install(s: _Settings) -> Observability:
    resource = Resource.create(
        {
            "service.name": s.service_name,
            "telemetry.distro.name": "livekit-dashboard",
            "telemetry.distro.version": __version__,
        }
    )
    span_exporter, metric_exporter, log_exporter = _exporters(s)

    identities = _JobIdentities()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(identities)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    set_tracer_provider(
        tracer_provider, metadata={**_DEFAULT_METADATA, **dict(s.metadata)}, allow_pii=s.capture_content
    )

    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[PeriodicExportingMetricReader(metric_exporter)],
        views=[
            View(
                instrument_type=Histogram,
                instrument_unit="s",
                aggregation=ExplicitBucketHistogramAggregation(list(SECONDS_BUCKETS)),
            ),
            View(
                instrument_type=Histogram,
                instrument_name="gen_ai.client.token.usage",
                aggregation=ExplicitBucketHistogramAggregation(list(TOKEN_BUCKETS)),
            ),
        ],
    )
    metrics.set_meter_provider(meter_provider)
    if metrics.get_meter_provider() is not meter_provider:
        log.warning("a global MeterProvider was already set: livekit-agents' metrics go to it, not to the dashboard")

    logger_provider = LoggerProvider(resource=resource)
    if not s.capture_content:
        logger_provider.add_log_record_processor(_DropPiiLogAttributes())
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    set_logger_provider(logger_provider)
    if get_logger_provider() is not logger_provider:
        log.warning("a global LoggerProvider was already set; log records go to the dashboard's handler anyway")
    with warnings.catch_warnings():
        # the SDK's handler is deprecated in favour of another package's; livekit-agents uses it too
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=s.log_level, logger_provider=logger_provider)
    handler.addFilter(_NotTheExportersOwnLogs())
    logging.getLogger().addHandler(handler)

    return Observability(
        endpoint=s.endpoint,
        http_endpoint=s.http_endpoint,
        api_key=s.api_key,
        service_name=s.service_name,
        protocol=s.protocol,
        capture_content=s.capture_content,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        log_handler=handler,
        _identities=identities,
        _settings=s,
    )
