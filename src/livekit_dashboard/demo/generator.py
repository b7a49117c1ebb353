"""Generator: turn simulated calls into SDK spans, log records and metric points, and send them
to a server through the real OpenTelemetry OTLP/HTTP exporters (backfilled timestamps)."""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from livekit_dashboard.demo.calls import CallRecord, build_call
from livekit_dashboard.demo.catalog import SERVICES, Service

__all__ = ["DemoConfig", "DemoSummary", "call_logs", "call_spans", "generate", "resource_for", "simulate"]

_SCOPE = InstrumentationScope("livekit-agents", "")
_SEVERITY = {"INFO": SeverityNumber.INFO, "WARN": SeverityNumber.WARN, "ERROR": SeverityNumber.ERROR}
_LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# what livekit-agents' histograms use: the SDK's default buckets
_DEFAULT_BOUNDS = (
    0.0,
    5.0,
    10.0,
    25.0,
    50.0,
    75.0,
    100.0,
    250.0,
    500.0,
    750.0,
    1000.0,
    2500.0,
    5000.0,
    7500.0,
    10000.0,
)


@dataclass(frozen=True, slots=True)
class DemoConfig:
    calls: int = 400
    days: float = 7.0
    seed: int = 42
    batch_spans: int = 512
    end_ns: int | None = None  # newest call ends before this (default: now)


@dataclass(slots=True)
class DemoSummary:
    calls: int = 0
    spans: int = 0
    logs: int = 0
    metric_points: int = 0
    errors: int = 0


def resource_for(service: Service) -> Resource:
    return Resource.create(
        {
            "service.name": service.name,
            "service.version": service.version,
            "deployment.environment.name": "demo",
            "telemetry.sdk.language": service.language,
        }
    )


def simulate(config: DemoConfig) -> list[CallRecord]:
    """The calls of a demo run, deterministic for a seed and end time."""
    rng = random.Random(config.seed)
    end_ns = config.end_ns if config.end_ns is not None else time.time_ns()
    span_ns = int(config.days * 86400 * 1e9)
    weights = [5, 3, 2, 1]
    starts = sorted(end_ns - span_ns + int(rng.random() * (span_ns - 15 * 60 * 10**9)) for _ in range(config.calls))
    cumulative = [sum(weights[: i + 1]) for i in range(len(weights))]
    calls = []
    for index, start in enumerate(starts):
        service = SERVICES[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
        calls.append(build_call(rng, service, start, rng.getrandbits(128) or 1, index))
    return calls


def call_spans(call: CallRecord, resource: Resource) -> Iterator[ReadableSpan]:
    by_id = {s.span_id: s for s in call.spans}
    for spec in call.spans:
        context = SpanContext(call.trace_id, spec.span_id, is_remote=False, trace_flags=TraceFlags(1))
        parent = by_id.get(spec.parent_id) if spec.parent_id else None
        parent_ctx = SpanContext(call.trace_id, parent.span_id, False, TraceFlags(1)) if parent else None
        yield ReadableSpan(
            name=spec.name,
            context=context,
            parent=parent_ctx,
            resource=resource,
            attributes=spec.attributes,
            events=[Event(name, attrs, ts) for name, ts, attrs in spec.events],
            kind=SpanKind.INTERNAL,
            status=Status(StatusCode.ERROR, spec.error) if spec.error else Status(StatusCode.UNSET),
            start_time=spec.start_ns,
            end_time=spec.end_ns,
            instrumentation_scope=_SCOPE,
        )


def call_logs(call: CallRecord, resource: Resource) -> Iterator[ReadableLogRecord]:
    for spec in call.logs:
        record = ApiLogRecord(
            timestamp=spec.time_ns,
            observed_timestamp=spec.time_ns,
            trace_id=call.trace_id,
            span_id=spec.span_id or 0,
            trace_flags=TraceFlags(1),
            severity_text=spec.severity,
            severity_number=_SEVERITY[spec.severity],
            body=spec.body,
            attributes={**spec.attributes, "room_id": call.room_sid, "job_id": call.job_id},
        )
        yield ReadableLogRecord(record, resource, InstrumentationScope(spec.logger, ""))


def _histogram_point(
    values: list[float],
    bounds: tuple[float, ...],
    attrs: dict[str, Any],
    start: int,
    end: int,
) -> HistogramDataPoint:
    counts = [0] * (len(bounds) + 1)
    for v in values:
        counts[bisect.bisect_left(bounds, v)] += 1
    return HistogramDataPoint(attrs, start, end, len(values), sum(values), counts, bounds, min(values), max(values))


def _metrics(call: CallRecord) -> list[Metric]:
    """Per-call series (room_id/job_id attributes); outbound-caller exports DELTA, as Cloud mode does."""
    temporality = (
        AggregationTemporality.DELTA if call.service.name == "outbound-caller" else (AggregationTemporality.CUMULATIVE)
    )
    job = {"room_id": call.room_sid, "job_id": call.job_id}
    start, end = call.start_ns, call.end_ns
    metrics = []
    for name, total in sorted(call.usage.items()):
        model = call.llm
        if "tts_" in name:
            model = call.tts
        elif "stt_" in name:
            model = call.stt
        attrs = {
            **job,
            "model_name": model.name if model else "",
            "model_provider": model.raw_provider if model else "",
        }
        unit = "s" if name.endswith("duration") else ""
        metrics.append(Metric(name, "", unit, Sum([NumberDataPoint(attrs, start, end, total)], temporality, True)))
    llm = call.llm
    if llm is not None and call.llm_durations_s:
        gen_attrs = {
            **job,
            "gen_ai.operation.name": "generate_content" if call.realtime else "chat",
            "gen_ai.provider.name": llm.provider,
            "gen_ai.request.model": llm.name,
        }
        metrics.append(
            Metric(
                "gen_ai.client.operation.duration",
                "GenAI operation duration",
                "s",
                Histogram(
                    [_histogram_point(call.llm_durations_s, _DEFAULT_BOUNDS, gen_attrs, start, end)],
                    temporality,
                ),
            )
        )
        if not call.realtime:
            host = {
                "openai": "api.openai.com",
                "gcp.gemini": "generativelanguage.googleapis.com",
                "anthropic": "api.anthropic.com",
            }.get(llm.provider, "api.example.com")
            metrics.append(
                Metric(
                    "http.client.request.duration",
                    "Duration of HTTP client requests.",
                    "s",
                    Histogram(
                        [
                            _histogram_point(
                                call.llm_durations_s,
                                _LATENCY_BOUNDS,
                                {
                                    "http.request.method": "POST",
                                    "server.address": host,
                                    "http.response.status_code": 200,
                                },
                                start,
                                end,
                            )
                        ],
                        temporality,
                    ),
                )
            )
    if call.e2e_latencies_s:
        attrs = {
            **job,
            "model_name": llm.name if llm else "",
            "model_provider": llm.raw_provider if llm else "",
        }
        metrics.append(
            Metric(
                "lk.agents.turn.e2e_latency",
                "",
                "s",
                Histogram([_histogram_point(call.e2e_latencies_s, _DEFAULT_BOUNDS, attrs, start, end)], temporality),
            )
        )
    return metrics


class _Sender:
    def __init__(self, endpoint: str, batch_spans: int) -> None:
        base = endpoint.rstrip("/")
        self.spans = OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=60)
        self.logs = OTLPLogExporter(endpoint=f"{base}/v1/logs", timeout=60)
        self.metrics = OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=60)
        self.batch_spans = batch_spans
        self.pending_spans: list[ReadableSpan] = []
        self.pending_logs: list[ReadableLogRecord] = []

    def add(self, spans: list[ReadableSpan], logs: list[ReadableLogRecord]) -> None:
        self.pending_spans.extend(spans)
        self.pending_logs.extend(logs)
        if len(self.pending_spans) >= self.batch_spans:
            self.flush()

    def flush(self) -> None:
        if self.pending_spans and self.spans.export(self.pending_spans) is not SpanExportResult.SUCCESS:
            raise RuntimeError("the server did not accept a span batch (see the exporter's log above)")
        if self.pending_logs and self.logs.export(self.pending_logs).name != "SUCCESS":
            raise RuntimeError("the server did not accept a log batch")
        self.pending_spans, self.pending_logs = [], []

    def send_metrics(self, resource_metrics: list[ResourceMetrics]) -> None:
        if resource_metrics and self.metrics.export(MetricsData(resource_metrics)) is not MetricExportResult.SUCCESS:
            raise RuntimeError("the server did not accept a metric batch")

    def close(self) -> None:
        for exporter in (self.spans, self.logs, self.metrics):
            exporter.shutdown()


def generate(config: DemoConfig, endpoint: str, *, progress: bool = False) -> DemoSummary:
    """Simulate config.calls calls and send them to the OTLP/HTTP endpoint (http://host:port)."""
    calls = simulate(config)
    summary = DemoSummary()
    resources = {service.name: resource_for(service) for service in SERVICES}
    sender = _Sender(endpoint, config.batch_spans)
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(calls), desc="demo calls", unit="call")
    try:
        metric_batch: dict[str, list[Metric]] = {}
        for call in calls:
            resource = resources[call.service.name]
            spans = list(call_spans(call, resource))
            logs = list(call_logs(call, resource))
            sender.add(spans, logs)
            metrics = _metrics(call)
            metric_batch.setdefault(call.service.name, []).extend(metrics)
            summary.calls += 1
            summary.spans += len(spans)
            summary.logs += len(logs)
            summary.metric_points += len(metrics)
            summary.errors += sum(1 for s in call.spans if s.error)
            if sum(len(m) for m in metric_batch.values()) >= 500:
                sender.send_metrics(_resource_metrics(metric_batch, resources))
                metric_batch = {}
            if bar is not None:
                bar.update(1)
        sender.flush()
        sender.send_metrics(_resource_metrics(metric_batch, resources))
    finally:
        if bar is not None:
            bar.close()
        sender.close()
    return summary


def _resource_metrics(batch: dict[str, list[Metric]], resources: dict[str, Resource]) -> list[ResourceMetrics]:
    return [
        ResourceMetrics(resources[name], [ScopeMetrics(_SCOPE, metrics, "")], "")
        for name, metrics in batch.items()
        if metrics
    ]
