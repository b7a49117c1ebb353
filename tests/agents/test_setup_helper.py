"""The setup helper (livekit_dashboard.agent) in a real livekit-agents job (one process per job:
tests/agents/helper_session.py) against a real server: the docs' snippet over OTLP/HTTP, and gRPC
with an ingest key and without content. What arrived is read back through the server's API (and,
for histogram buckets, its storage); the call's usage must be the framework's session.usage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from livekit_dashboard.server import DashboardServer
from tests.agents.helper_session import DOCS_ENDPOINT, run, snippet, usage_totals

pytestmark = pytest.mark.slow

RANGE = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
ADMIN = "agent-helper-test-admin-key"
CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")


def get(server: DashboardServer, path: str, key: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    r = httpx.get(f"{server.base_url}{path}", params=params, headers=headers, timeout=30)
    assert r.status_code == 200, (path, r.text)
    return r.json()


def spoken(report: dict[str, Any], role: str) -> list[str]:
    """What the user said / the agent answered, from the framework's chat history."""
    items = report["chat_history"]["items"]
    return [
        " ".join(c for c in i["content"] if isinstance(c, str)).strip()
        for i in items
        if i.get("type") == "message" and i.get("role") == role
    ]


def histograms(server: DashboardServer) -> dict[str, list[dict[str, Any]]]:
    rows = server.engine.query(
        "SELECT MetricName AS name, ExplicitBounds AS bounds, BucketCounts AS counts, Count AS n, "
        "Attributes AS attributes, TimeUnix AS time FROM otel_metrics_histogram"
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["name"], []).append(row)
    return found


def counter(server: DashboardServer, name: str, job_id: str) -> float:
    """A usage counter's value for the job (cumulative: its latest point)."""
    rows = server.engine.query(
        "SELECT max(Value) AS v, count() AS n FROM otel_metrics_sum WHERE MetricName = {name:String} "
        "AND Attributes['job_id'] = {job:String}",
        {"name": name, "job": job_id},
    )
    assert rows[0]["n"] > 0, f"no {name} point of job {job_id}"
    return float(rows[0]["v"])


def test_the_docs_helper_snippet_sends_traces_metrics_logs_and_the_report(
    server: DashboardServer, tmp_path: Path
) -> None:
    code = snippet("helper")
    assert code.count(DOCS_ENDPOINT) == 1
    worker = tmp_path / "helper_docs.py"
    worker.write_text(code.replace(DOCS_ENDPOINT, server.base_url))
    ran = run(tmp_path, "worker", str(worker))
    job_id = ran["ids"]["job_id"]
    truth = usage_totals(ran["usage"])
    assert min(truth["llm_input_text_tokens"], truth["tts_characters"], truth["stt_audio_duration"]) > 0

    # the posted SessionReport is the call's usage record: exactly the framework's session.usage
    (call,) = get(server, "/api/v1/calls", **RANGE)["calls"]
    assert call["call_id"] == job_id
    assert call["source"] == "posted"
    assert {k: call[k] for k in truth} == truth
    assert call["turns"] == ran["report"]["user_turns"] == 2
    assert (call["user_email"], call["assistant_id"], call["service"]) == (
        "caller@example.com",
        "support-v2",
        "support-agent",
    )

    # traces: the call's turns with what was said; every span stamped with the job's ids and identities
    page = get(server, f"/api/v1/calls/{job_id}")
    assert page["trace_id"] == call["trace_id"]
    assert page["content_captured"] is True
    assert [t["user_text"] for t in page["turns"]] == spoken(ran["report"], "user")
    assert [t["agent_text"].strip() for t in page["turns"]] == spoken(ran["report"], "assistant")
    assert all(t["response_s"] is not None and 0 < t["response_s"] < 5 for t in page["turns"])
    spans = get(server, f"/api/v1/traces/{call['trace_id']}")["spans"]
    assert {s["name"] for s in spans} >= {"agent_session", "agent_turn", "llm_request", "tts_request", "user_turn"}
    for s in spans:
        assert (s["attributes"].get("job_id"), s["attributes"].get("room_id")) == (job_id, ran["ids"]["room_id"])
        assert s["attributes"].get("user.email") == "caller@example.com"
        assert s["service"] == "support-agent"

    # logs: the agent's own log line, inside its tool's span
    (line,) = [entry for entry in page["logs"] if entry["body"] == "looking up the weather"]
    (tool,) = [s for s in spans if s["name"] == "function_tool"]
    assert line["span_id"] == tool["span_id"]

    # metrics: the framework's counters per job equal its usage; latency histograms in seconds have
    # second-scale buckets, so sub-second latencies are told apart (the SDK's defaults start at 5)
    assert get(server, "/api/v1/ingest/stats")["metrics"]["stored"] > 0
    assert counter(server, "lk.agents.usage.llm_input_tokens", job_id) == truth["llm_input_text_tokens"]
    assert counter(server, "lk.agents.usage.tts_characters", job_id) == truth["tts_characters"]
    assert counter(server, "lk.agents.usage.stt_audio_duration", job_id) == pytest.approx(truth["stt_audio_duration"])
    found = histograms(server)
    for name in ("lk.agents.turn.e2e_latency", "lk.agents.turn.llm_ttft", "gen_ai.client.operation.duration"):
        assert name in found, f"{name} not stored (stored: {sorted(found)})"
        for row in found[name]:
            bounds = row["bounds"]
            assert bounds[0] <= 0.05
            assert bounds[-1] >= 30
            assert sum(1 for b in bounds if b < 5) >= 8
    # cumulative: the job's series' latest point (one per export) counts both replies
    e2e = max(
        (r for r in found["lk.agents.turn.e2e_latency"] if r["attributes"].get("job_id") == job_id),
        key=lambda r: r["time"],
    )
    assert e2e["n"] == 2
    # each reply is counted in the second-scale bucket its latency (as the framework measured it, in
    # its chat history) falls in: (bounds[i-1], bounds[i]], the last bucket above the last bound
    measured = [
        i["metrics"]["e2e_latency"]
        for i in ran["report"]["chat_history"]["items"]
        if i.get("type") == "message" and i.get("role") == "assistant"
    ]
    expected = [0] * (len(e2e["bounds"]) + 1)
    for value in measured:
        expected[next((k for k, upper in enumerate(e2e["bounds"]) if value <= upper), len(e2e["bounds"]))] += 1
    assert list(e2e["counts"]) == expected
    tokens = found["gen_ai.client.token.usage"]
    assert all(r["bounds"][:3] == [1.0, 4.0, 16.0] for r in tokens)


GRPC_WORKER = """
import logging

from livekit_dashboard.agent import setup_observability

observability = setup_observability(
    {grpc!r},
    protocol="grpc",
    http_endpoint={http!r},
    api_key={key!r},
    service_name="private-agent",
    capture_content=False,
)
# a second call (another module of the worker) gets the same setup; its arguments are ignored
assert setup_observability("http://127.0.0.1:1") is observability


async def entrypoint(ctx):
    session = AgentSession()
    observability.attach(ctx, session, user_email="someone@example.com", assistant_id="private-v1")
    # user data logged the framework's way (an lk.pii.* extra) next to an ordinary attribute
    note = {{"lk.pii.caller_note": "lives in Paris", "plan": "gold"}}
    logging.getLogger("private-agent").warning("caller details", extra=note)
    await session.start(agent=Assistant(), room=ctx.room)
"""


def test_the_helper_over_grpc_with_an_ingest_key_and_without_content(make_server: Any, tmp_path: Path) -> None:
    server = make_server(admin_key=ADMIN, auth="required")
    created = httpx.post(
        f"{server.base_url}/api/v1/keys",
        json={"name": "worker", "role": "ingest"},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    worker = tmp_path / "grpc_worker.py"
    worker.write_text(GRPC_WORKER.format(grpc=f"127.0.0.1:{server.grpc_port}", http=server.base_url, key=key))
    ran = run(tmp_path, "worker", str(worker))
    job_id = ran["ids"]["job_id"]
    truth = usage_totals(ran["usage"])

    # the keys were needed: nothing is readable without one, and the worker's exports and report got in
    assert httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=30).status_code == 401
    (call,) = get(server, "/api/v1/calls", ADMIN, **RANGE)["calls"]
    assert (call["call_id"], call["source"]) == (job_id, "posted")
    assert {k: call[k] for k in truth} == truth
    assert (call["user_email"], call["assistant_id"], call["service"]) == (
        "someone@example.com",
        "private-v1",
        "private-agent",
    )

    # over gRPC: spans (2 turns), histograms and logs; no content on any span
    page = get(server, f"/api/v1/calls/{job_id}", ADMIN)
    assert page["content_captured"] is False
    assert len(page["turns"]) == 2
    assert all(t["user_text"] == "" and t["agent_text"] == "" for t in page["turns"])
    spans = get(server, f"/api/v1/traces/{call['trace_id']}", ADMIN)["spans"]
    assert len(spans) == page["span_count"] > 10
    for s in spans:
        leaked = [k for k in s["attributes"] if "pii" in k.split(".") or k in CONTENT_KEYS]
        assert not leaked, (s["name"], leaked)
    assert "lk.agents.turn.e2e_latency" in histograms(server)
    # the log record arrived without its lk.pii.* attribute
    (record,) = server.engine.query(
        "SELECT LogAttributes AS attributes, ServiceName AS service FROM otel_logs WHERE Body = 'caller details'"
    )
    assert record["service"] == "private-agent"
    assert record["attributes"]["plan"] == "gold"
    assert not [k for k in record["attributes"] if "pii" in k.split(".")], json.dumps(record["attributes"])
