"""Logs and every metric kind, sent by the real SDK exporters, land in their tables with the right values."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from livekit_dashboard.server import DashboardServer


@pytest.fixture(autouse=True)
def _detach_handlers() -> Iterator[None]:
    """Leave no OpenTelemetry handler behind for later tests' logging to flush."""
    yield
    for name in ("livekit.agents.test", "livekit.plugins.grpc"):
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            handler.close()
        logger.handlers = []


def _logger_with(exporter: Any, name: str) -> tuple[logging.Logger, LoggerProvider]:
    provider = LoggerProvider(resource=Resource.create({"service.name": "log-agent"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers = [LoggingHandler(logger_provider=provider)]
    return logger, provider


def test_logs_from_python_logging_are_stored_and_correlated(server: DashboardServer) -> None:
    tracer = TracerProvider().get_tracer("t")
    logger, provider = _logger_with(HttpLogExporter(endpoint=f"{server.base_url}/v1/logs"), "livekit.agents.test")
    with tracer.start_as_current_span("llm_request") as span:
        logger.warning("failed to generate LLM completion", extra={"llm": "gpt-4o-mini", "attempt": 2})
        trace_id = format(span.get_span_context().trace_id, "032x")
        span_id = format(span.get_span_context().span_id, "016x")
        flags = int(span.get_span_context().trace_flags)
    logger.info("no span here")
    provider.shutdown()

    listed = httpx.get(f"{server.base_url}/api/v1/logs", params={"trace_id": trace_id}).json()["logs"]
    assert len(listed) == 1
    entry = listed[0]
    assert entry["body"] == "failed to generate LLM completion"
    assert (entry["severity_text"], entry["severity_number"]) == ("WARN", 13)
    assert (entry["trace_id"], entry["span_id"], entry["service"]) == (trace_id, span_id, "log-agent")
    assert entry["scope_name"] == "livekit.agents.test"

    full = httpx.get(f"{server.base_url}/api/v1/logs/{entry['log_id']}").json()
    assert full["log_id"] == entry["log_id"]
    assert full["attributes"]["llm"] == "gpt-4o-mini"
    assert full["attributes"]["attempt"] == "2"
    assert full["resource_attributes"]["service.name"] == "log-agent"
    assert full["trace_flags"] == flags

    everything = httpx.get(f"{server.base_url}/api/v1/logs").json()["logs"]
    assert [e["body"] for e in everything] == ["no span here", "failed to generate LLM completion"]
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()
    assert stats["logs"] == {"received": 2, "stored": 2, "rejected": 0}


def test_logs_over_grpc(server: DashboardServer) -> None:
    exporter = GrpcLogExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True)
    logger, provider = _logger_with(exporter, "livekit.plugins.grpc")
    logger.error("Error in _tts_inference_task")
    provider.shutdown()
    rows = server.engine.query("SELECT Body, SeverityText, ScopeName FROM otel_logs")
    assert rows == [
        {"Body": "Error in _tts_inference_task", "SeverityText": "ERROR", "ScopeName": "livekit.plugins.grpc"}
    ]


def test_unknown_log_id_is_404_and_malformed_is_400(server: DashboardServer) -> None:
    assert httpx.get(f"{server.base_url}/api/v1/logs/1795000000000000000-00000000000000ff").status_code == 404
    bad = httpx.get(f"{server.base_url}/api/v1/logs/not-an-id")
    assert bad.status_code == 400
    assert "log id must look like" in bad.json()["detail"]
    assert httpx.get(f"{server.base_url}/api/v1/logs", params={"trace_id": "xyz"}).status_code == 400


def _collect_sdk_metrics(temporality: AggregationTemporality) -> Any:
    preferred = {kind: temporality for kind in _instrument_kinds()}
    reader = InMemoryMetricReader(preferred_temporality=preferred)
    provider = MeterProvider(
        resource=Resource.create({"service.name": "metrics-agent"}),
        metric_readers=[reader],
        views=[
            View(
                instrument_name="lk.agents.turn.e2e_latency_exp",
                aggregation=ExponentialBucketHistogramAggregation(),
            )
        ],
    )
    meter = provider.get_meter("livekit-agents")
    counter = meter.create_counter("lk.agents.usage.llm_input_tokens")
    histogram = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    exp_histogram = meter.create_histogram("lk.agents.turn.e2e_latency_exp", unit="s")

    def observe(options: CallbackOptions) -> list[Observation]:
        return [Observation(0.75, {"severity": "warn"})]

    meter.create_observable_gauge("lk.agents.worker.load", callbacks=[observe])
    attrs = {"model_name": "gpt-4o-mini", "model_provider": "openai"}
    counter.add(120, attrs)
    counter.add(80, attrs)
    for value in (0.5, 1.5, 7.0):
        histogram.record(value, {"gen_ai.request.model": "gpt-4o-mini"})
        exp_histogram.record(value)
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


def _instrument_kinds() -> list[type]:
    from opentelemetry.sdk.metrics import Counter, Histogram, ObservableGauge

    return [Counter, Histogram, ObservableGauge]


def test_every_sdk_metric_kind_lands_in_its_table(server: DashboardServer) -> None:
    exporter = OTLPMetricExporter(endpoint=f"{server.base_url}/v1/metrics")
    for temporality in (AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA):
        assert exporter.export(_collect_sdk_metrics(temporality)).name == "SUCCESS"
    q = server.engine.query

    sums = q(
        "SELECT Value, AggregationTemporality AS t, IsMonotonic AS m, Attributes AS a, ServiceName AS s "
        "FROM otel_metrics_sum ORDER BY t"
    )
    expected_attrs = {"model_name": "gpt-4o-mini", "model_provider": "openai"}
    assert sums == [
        {"Value": 200.0, "t": 1, "m": True, "a": expected_attrs, "s": "metrics-agent"},
        {"Value": 200.0, "t": 2, "m": True, "a": expected_attrs, "s": "metrics-agent"},
    ]
    hist = q("SELECT Count, Sum, Min, Max, BucketCounts, ExplicitBounds, MetricUnit FROM otel_metrics_histogram")
    assert len(hist) == 2
    for row in hist:
        assert (row["Count"], row["Sum"], row["Min"], row["Max"], row["MetricUnit"]) == (
            3,
            9.0,
            0.5,
            7.0,
            "s",
        )
        assert sum(row["BucketCounts"]) == 3
        assert len(row["BucketCounts"]) == len(row["ExplicitBounds"]) + 1
    exp = q(
        "SELECT Count, Sum, Scale, arraySum(PositiveBucketCounts) AS pos, ZeroCount "
        "FROM otel_metrics_exponential_histogram"
    )
    assert len(exp) == 2
    assert all((r["Count"], r["Sum"], r["pos"], r["ZeroCount"]) == (3, 9.0, 3, 0) for r in exp)
    gauges = q("SELECT Value, Attributes, MetricName FROM otel_metrics_gauge")
    assert gauges == [{"Value": 0.75, "Attributes": {"severity": "warn"}, "MetricName": "lk.agents.worker.load"}] * 2
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()
    assert stats["metrics"] == {"received": 8, "stored": 8, "rejected": 0}


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def test_summary_and_exemplars_from_protobuf(server: DashboardServer) -> None:
    """The Python SDK cannot make summaries or attach exemplars at will; build the OTLP message directly."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.append(_kv("service.name", "proto-agent"))
    sm = rm.scope_metrics.add()
    sm.scope.name = "custom"
    summary = sm.metrics.add(name="rpc.latency", unit="ms").summary
    point = summary.data_points.add(
        start_time_unix_nano=1_700_000_000_000_000_000,
        time_unix_nano=1_700_000_060_000_000_000,
        count=10,
        sum=123.5,
    )
    point.quantile_values.add(quantile=0.5, value=10.0)
    point.quantile_values.add(quantile=0.99, value=40.0)
    gauge = sm.metrics.add(name="queue.depth").gauge
    gp = gauge.data_points.add(time_unix_nano=1_700_000_060_000_000_000, as_int=7)
    gp.exemplars.add(
        time_unix_nano=1_700_000_059_000_000_000, as_double=6.5, span_id=b"\x01" * 8, trace_id=b"\x02" * 16
    )
    sm.metrics.add(name="empty.metric")  # no data: rejected, counted
    body = request.SerializeToString()
    response = httpx.post(
        f"{server.base_url}/v1/metrics", content=body, headers={"Content-Type": "application/x-protobuf"}
    )
    assert response.status_code == 200
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

    parsed = ExportMetricsServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_data_points == 1
    assert "metric without data" in parsed.partial_success.error_message
    rows = server.engine.query(
        "SELECT Count, Sum, ValueAtQuantiles.Quantile AS q, ValueAtQuantiles.Value AS v, "
        "toUnixTimestamp64Nano(TimeUnix) AS t FROM otel_metrics_summary"
    )
    assert rows == [{"Count": 10, "Sum": 123.5, "q": [0.5, 0.99], "v": [10.0, 40.0], "t": 1_700_000_060_000_000_000}]
    ex = server.engine.query(
        "SELECT Value, Exemplars.Value AS ev, Exemplars.SpanId AS es, Exemplars.TraceId AS et FROM otel_metrics_gauge"
    )
    assert ex == [{"Value": 7.0, "ev": [6.5], "es": ["01" * 8], "et": ["02" * 16]}]
