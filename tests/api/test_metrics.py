"""GET /metrics: the server's own Prometheus metrics, parsed with prometheus-client's own parser, agree
with what happened (spans sent and stored, inserts, requests per route and status, refused keys,
storage per table), and follow the same access rule as the other read routes."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from prometheus_client.parser import text_string_to_metric_families

from livekit_dashboard.server import DashboardServer
from livekit_dashboard.store import ENGINE_MEMORY
from tests.helpers import make_spans

ADMIN = "admin-key-for-metrics-tests-0123456789"
PB = {"Content-Type": "application/x-protobuf"}


def scrape(server: DashboardServer, headers: dict[str, str] | None = None) -> dict[str, list[Any]]:
    r = httpx.get(f"{server.base_url}/metrics", headers=headers or {}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")  # the Prometheus text format
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    found = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return float(found[0])


def test_metrics_agree_with_what_happened(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN)
    spans = make_spans(n_turns=3)
    for _ in range(2):  # the second is a resend: answered, not stored twice
        r = httpx.post(f"{server.base_url}/v1/traces", content=encode_spans(spans).SerializeToString(), headers=PB)
        assert r.status_code == 200
    assert httpx.get(f"{server.base_url}/api/v1/panels/token_usage_totals", timeout=30).status_code == 200
    assert httpx.get(f"{server.base_url}/api/v1/panels/nope", timeout=30).status_code == 404
    assert httpx.get(f"{server.base_url}/admin/analytics/tokens/summary", timeout=30).status_code == 401
    bad = {"Authorization": "Bearer not-a-key-of-ours"}
    assert httpx.get(f"{server.base_url}/admin/analytics/tokens/summary", headers=bad, timeout=30).status_code == 401
    # once the spans are in storage (ingest acknowledges at its write-ahead log, stores a moment later)
    assert httpx.get(f"{server.base_url}/api/v1/ingest/stats", timeout=30).json()["traces"]["stored"] == len(spans)
    samples = scrape(server)
    assert value(samples, "livekit_dashboard_ingest_items_total", signal="traces", outcome="received") == len(spans)
    assert value(samples, "livekit_dashboard_ingest_items_total", signal="traces", outcome="stored") == len(spans)
    assert value(samples, "livekit_dashboard_ingest_items_total", signal="traces", outcome="rejected") == 0
    assert value(samples, "livekit_dashboard_ingest_requests_total", outcome="duplicate") == 1
    assert value(samples, "livekit_dashboard_ingest_queue_rows") == 0
    assert value(samples, "livekit_dashboard_wal_bytes") >= 0
    # one insert of the spans (the resend was not inserted), its rows counted
    assert value(samples, "livekit_dashboard_insert_batch_rows_count") >= 1
    assert value(samples, "livekit_dashboard_insert_batch_rows_sum") == len(spans)
    assert value(samples, "livekit_dashboard_insert_duration_seconds_count") >= 1
    # requests by route template and status, never by raw path
    http = "livekit_dashboard_http_request_duration_seconds_count"
    assert value(samples, http, route="/v1/traces", method="POST", status="200") == 2
    assert value(samples, http, route="/api/v1/panels/{name}", method="GET", status="200") == 1
    assert value(samples, http, route="/api/v1/panels/{name}", method="GET", status="404") == 1
    assert value(samples, http, route="/admin/analytics/tokens/summary", method="GET", status="401") == 2
    assert not [s for s in samples[http] if "nope" in s.labels["route"]]
    # the two refused admin requests: a missing and an invalid key
    assert value(samples, "livekit_dashboard_auth_refusals_total", reason="unauthenticated") == 2
    assert value(samples, "livekit_dashboard_storage_bytes", table="otel_traces") > 0
    assert value(samples, "livekit_dashboard_storage_rows", table="otel_traces") == len(spans)
    # the engine's memory: the panel read above went through its cache of decompressed blocks
    memory = "livekit_dashboard_engine_memory_bytes"
    assert {s.labels["kind"] for s in samples[memory]} == set(ENGINE_MEMORY)
    assert value(samples, memory, kind="uncompressed_cache") > 0
    assert value(samples, memory, kind="tracked") >= value(samples, memory, kind="uncompressed_cache")
    (build,) = samples["livekit_dashboard_build_info"]
    assert build.labels["version"] == __import__("livekit_dashboard").__version__
    assert build.labels["storage"].startswith("chdb")


def test_metrics_follow_the_read_routes_access_rule(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN, auth="required")
    assert httpx.get(f"{server.base_url}/metrics", timeout=30).status_code == 401
    r = httpx.post(
        f"{server.base_url}/api/v1/keys",
        json={"name": "prometheus", "role": "viewer"},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    viewer = r.json()["key"]
    samples = scrape(server, {"Authorization": f"Bearer {viewer}"})
    # the refused scrape is counted, and the one that worked shows up by the next scrape
    assert value(samples, "livekit_dashboard_auth_refusals_total", reason="unauthenticated") == 1
    samples = scrape(server, {"Authorization": f"Bearer {viewer}"})
    assert (
        value(
            samples,
            "livekit_dashboard_http_request_duration_seconds_count",
            route="/metrics",
            method="GET",
            status="200",
        )
        == 1
    )


def test_the_grafana_dashboard_reads_only_series_the_server_exports(make_server: Any) -> None:
    """docs/grafana-dashboard.json: every series its queries name is one /metrics exports."""
    import json
    import re
    from pathlib import Path

    server = make_server()
    r = httpx.post(
        f"{server.base_url}/v1/traces", content=encode_spans(make_spans()).SerializeToString(), headers=PB, timeout=30
    )
    assert r.status_code == 200
    assert httpx.get(f"{server.base_url}/api/v1/ingest/stats", timeout=30).status_code == 200
    exported = set(scrape(server))
    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    named = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"livekit_dashboard_\w+", target["expr"])
    }
    assert len(dashboard["panels"]) >= 10
    assert named, "the dashboard names no series"
    assert named <= exported, sorted(named - exported)
