"""The call explorer and the call page over recorded real livekit-agents sessions
(tests/fixtures/livekit/<scenario>): turns with their latency stages as the framework measured them,
the transcript, tools, errors, search, filters, sorting and CSV; and the latency flag rule."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from livekit_dashboard.domain.calls import assemble_call, latency_flag
from livekit_dashboard.query import calls_csv
from livekit_dashboard.server import DashboardServer
from livekit_dashboard.store import apply_migrations
from livekit_dashboard.store.migrate import list_migrations
from tests.conftest import DatabasePool, serving
from tests.query.test_agent_modes import FIXTURES, MODES, RANGE, replay


def calls(server: DashboardServer, **params: Any) -> dict[str, Any]:
    r = httpx.get(f"{server.base_url}/api/v1/calls", params={**RANGE, **params}, timeout=60)
    assert r.status_code == 200, r.text
    return dict(r.json())


def call_page(server: DashboardServer, ident: str) -> dict[str, Any]:
    r = httpx.get(f"{server.base_url}/api/v1/calls/{ident}", timeout=60)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _attrs(span: Any) -> dict[str, str]:
    return {a.key: str(getattr(a.value, a.value.WhichOneof("value"))) for a in span.attributes}


def recorded_turns(scenario: str) -> list[dict[str, str]]:
    """The agent_turn spans of a recording, read straight from its protobuf (the truth)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest.FromString((FIXTURES / scenario / "traces.pb").read_bytes())
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    turns = sorted((s for s in spans if s.name == "agent_turn"), key=lambda s: s.start_time_unix_nano)
    return [_attrs(s) for s in turns]


@pytest.fixture(scope="module")
def pipeline(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[DashboardServer]:
    with serving(chdb_dir, database_pool) as server:
        replay(server, MODES["pipeline (audio)"])
        yield server


def test_call_page_shows_every_turn_with_the_frameworks_own_latencies(pipeline: DashboardServer) -> None:
    summary = json.loads((FIXTURES / "pipeline_audio" / "summary.json").read_text())
    truth = recorded_turns("pipeline_audio")
    (row,) = calls(pipeline)["calls"]
    assert row["call_id"] == summary["job_id"]
    call = call_page(pipeline, row["call_id"])
    assert call == call_page(pipeline, row["trace_id"])  # found by trace id too
    assert call["content_captured"] is True
    turns = call["turns"]
    assert len(turns) == len(truth) == row["turns"] == 4
    for turn, attrs in zip(turns, truth, strict=True):
        assert turn["user_text"] == attrs["lk.pii.user_input"]
        e2e = attrs.get("lk.e2e_latency")
        assert turn["response_s"] == (float(e2e) if e2e else None)
        if "lk.end_of_turn_delay" in attrs:
            assert turn["stages"]["end_of_turn"] == float(attrs["lk.end_of_turn_delay"])
            assert turn["stages"]["transcription"] == float(attrs["lk.transcription_delay"])
    # the third reply's TTS failed: never spoken, no response latency, its error named once where it surfaced
    third = turns[2]
    assert third["spoke"] is False
    assert third["response_s"] is None
    assert third["response_flag"] == ""
    # its reply span carries no stages: they come from its user turn
    assert third["stages"]["end_of_turn"] == pytest.approx(0.5006392)
    assert third["agent_text"] == "P, A, R, I, S. "  # what the LLM wrote (the turn span has no text)
    assert [e["name"] for e in third["errors"]] == ["tts_node"]
    assert "402" in third["errors"][0]["message"]
    # the weather turn ran a tool, with its arguments and output
    (tool,) = turns[1]["tools"]
    assert (tool["name"], json.loads(tool["arguments"]), tool["output"]) == (
        "get_weather",
        {"city": "Paris"},
        "It is sunny in Paris.",
    )
    # LLM TTFT and TTS TTFB come from the turn's llm_node / tts_node
    assert turns[0]["stages"]["llm_ttft"] == pytest.approx(0.152100785)
    assert turns[0]["stages"]["tts_ttfb"] == pytest.approx(0.096117839)
    assert all(t["dominant_stage"] == "end_of_turn" for t in turns)  # the 0.5 s endpointing delay
    # the call row's latencies are the page's turns: median and worst of the valid ones
    valid = sorted(t["response_s"] for t in turns if t["response_s"] is not None)
    assert row["responses"] == len(valid) == 3
    assert row["response_max_s"] == pytest.approx(valid[-1])
    assert row["response_p50_s"] == pytest.approx(valid[1])  # the middle of three
    assert row["failures"] == 1
    assert row["interruptions"] == 0
    # the timeline: each turn's user speech, LLM (with its first-token mark) and TTS on one axis
    segments = call["timeline"]
    assert sorted({s["turn"] for s in segments}) == [1, 2, 3, 4]
    assert sum(1 for s in segments if s["lane"] == "agent") == 3  # the failed reply was never spoken
    llm = [s for s in segments if s["lane"] == "LLM"]
    assert len(llm) == 5  # one LLM step per turn, plus the follow-up after the tool
    assert all(s["start_s"] <= s["mark_s"] <= s["end_s"] for s in llm)
    assert all(0 <= s["start_s"] <= s["end_s"] <= call["duration_s"] for s in segments)
    # errors: one per failure (the span chain named once) and the ERROR log; logs of the trace
    assert [(e["kind"], e["name"]) for e in call["errors"]] == [("span", "tts_node"), ("log", "ERROR")]
    assert any(g["body"] == "looking up the weather" for g in call["logs"])


def test_search_finds_a_call_by_id_room_or_words_said(pipeline: DashboardServer) -> None:
    (row,) = calls(pipeline)["calls"]
    for q in (row["call_id"], row["trace_id"], row["trace_id"].upper(), row["room_name"], "weather in PARIS", "sunny"):
        found = calls(pipeline, q=q)
        assert [c["call_id"] for c in found["calls"]] == [row["call_id"]], q
    assert calls(pipeline, q="never said on this call")["total"] == 0
    # an id is found at any time; words only in the range
    outside = {"start": "2021-01-01T00:00:00Z", "end": "2021-01-02T00:00:00Z"}
    assert calls(pipeline, q=row["call_id"], **outside)["total"] == 1
    assert calls(pipeline, q="sunny", **outside)["total"] == 0
    # words are whole words in any case, all of them: a part of a word or one more word finds nothing;
    # a search with no word in it finds nothing rather than everything
    assert calls(pipeline, q="SUNNY")["total"] == 1
    assert calls(pipeline, q="sunn")["total"] == 0
    assert calls(pipeline, q="sunny zeppelin")["total"] == 0
    assert calls(pipeline, q=" ?! ")["total"] == 0


def test_the_layout_migration_keeps_every_record_and_adds_its_words(make_server: Any) -> None:
    """Migration 0020 copies the settled records into 128-row granules and adds the words said on each:
    a record settled before it (no words) comes out the same, searchable by its words."""
    server = make_server()
    replay(server, MODES["pipeline (audio)"])
    (row,) = calls(server)["calls"]
    engine = server.storage
    before = engine.query("SELECT * FROM lk_call_records FINAL")
    assert {"sunny", "paris", "weather"} <= set(before[0]["words"])
    engine.command("ALTER TABLE lk_call_records UPDATE words = [] WHERE 1 SETTINGS mutations_sync = 2")
    assert calls(server, q="sunny")["total"] == 0
    engine.command("ALTER TABLE livekit_dashboard_migrations DELETE WHERE version >= 20 SETTINGS mutations_sync = 2")
    # a crash after the tables were exchanged leaves the old one behind under the copy's name: the re-run
    # drops it and copies again
    engine.command("CREATE TABLE lk_call_records_next AS lk_call_records")
    engine.command("INSERT INTO lk_call_records_next SELECT * FROM lk_call_records")
    assert [m.version for m in apply_migrations(engine)] == [m.version for m in list_migrations() if m.version >= 20]
    after = engine.query("SELECT * FROM lk_call_records FINAL")
    assert [{**r, "words": sorted(r["words"])} for r in after] == [{**r, "words": sorted(r["words"])} for r in before]
    assert [c["call_id"] for c in calls(server, q="sunny")["calls"]] == [row["call_id"]]
    (definition,) = engine.query(
        "SELECT create_table_query AS q FROM system.tables WHERE name = 'lk_call_records' "
        "AND database = currentDatabase()"
    )
    assert "index_granularity = 128" in definition["q"]
    assert (
        engine.query(
            "SELECT name FROM system.tables WHERE name = 'lk_call_records_next' AND database = currentDatabase()"
        )
        == []
    )


def test_filters_sorts_and_csv(pipeline: DashboardServer) -> None:
    (row,) = calls(pipeline)["calls"]
    assert calls(pipeline, has_errors="true")["total"] == 1
    assert calls(pipeline, min_response_s=0.8)["total"] == 1
    assert calls(pipeline, min_response_s=0.9)["total"] == 0  # slowest valid response: 0.85 s
    assert calls(pipeline, service=row["service"])["total"] == 1
    assert calls(pipeline, service="another-service")["total"] == 0
    assert calls(pipeline, agent=row["agent_name"])["total"] == 1
    assert calls(pipeline, agent="someone-else")["total"] == 0
    assert calls(pipeline, model="gpt-4o-mini")["total"] == 1
    assert calls(pipeline, model="gpt-4o")["total"] == 0
    assert calls(pipeline, sort="response_max_s", order="asc")["total"] == 1
    r = httpx.get(f"{pipeline.base_url}/api/v1/calls", params={**RANGE, "format": "csv"}, timeout=60)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    (parsed,) = list(csv.DictReader(io.StringIO(r.text)))
    assert parsed["call_id"] == row["call_id"]
    assert int(parsed["turns"]) == row["turns"]
    assert float(parsed["response_max_s"]) == pytest.approx(row["response_max_s"])
    assert list(parsed)[:3] == ["call_id", "trace_id", "room_name"]
    # lists are text a spreadsheet reads, not Python's repr
    tagged = {**row, "tags": ["topic:order", "vip"], "evaluations": [{"name": "task", "verdict": "pass"}]}
    (flat,) = list(csv.DictReader(io.StringIO(calls_csv([tagged]))))
    assert flat["tags"] == "topic:order; vip"
    assert json.loads(flat["evaluations"]) == [{"name": "task", "verdict": "pass"}]


def test_a_range_can_ask_for_the_calls_going_on_in_it(pipeline: DashboardServer) -> None:
    """active=true (what a chart bucket's click asks) finds a call that started before the range and
    was still going on in it; without it, only calls started in the range."""
    (row,) = calls(pipeline)["calls"]
    started = datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(row["ended_at"].replace("Z", "+00:00"))
    assert ended - started > timedelta(seconds=1)
    during = {"start": (started + timedelta(seconds=1)).isoformat(), "end": (ended + timedelta(minutes=1)).isoformat()}
    assert calls(pipeline, **during)["total"] == 0
    assert [c["call_id"] for c in calls(pipeline, **during, active="true")["calls"]] == [row["call_id"]]
    after = {"start": (ended + timedelta(seconds=1)).isoformat(), "end": (ended + timedelta(minutes=1)).isoformat()}
    assert calls(pipeline, **after, active="true")["total"] == 0


def test_bad_input_gets_a_precise_error(pipeline: DashboardServer) -> None:
    base = f"{pipeline.base_url}/api/v1/calls"
    for params, needle in (
        ({"sort": "room_name"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"min_response_s": "-1"}, "min_response_s"),
        ({"start": "yesterday-ish"}, "start"),
        ({"limit": "0"}, "limit"),
        ({"format": "xml"}, "format"),
    ):
        r = httpx.get(base, params=params, timeout=30)
        assert r.status_code in (400, 422), (params, r.text)
        assert needle in r.text, (params, r.text)
    r = httpx.get(f"{base}/AJ_no_such_call", timeout=30)
    assert r.status_code == 404
    assert "AJ_no_such_call" in r.json()["detail"]
    # a trace id with no span stored (the trace-id lookup table does not know it: spans are not read) is
    # not found, as a call or as a trace; the stored call's trace is, by both, with all its spans
    (row,) = calls(pipeline)["calls"]
    unknown = "0123456789abcdef0123456789abcdef"
    assert httpx.get(f"{base}/{unknown}", timeout=30).status_code == 404
    assert httpx.get(f"{pipeline.base_url}/api/v1/traces/{unknown}", timeout=30).status_code == 404
    trace = httpx.get(f"{pipeline.base_url}/api/v1/traces/{row['trace_id']}", timeout=30).json()
    stored = pipeline.engine.query(
        "SELECT uniqExact(SpanId) AS n FROM otel_traces WHERE TraceId = {t:String}", {"t": row["trace_id"]}
    )[0]["n"]
    assert len(trace["spans"]) == stored > 0
    assert call_page(pipeline, row["trace_id"])["span_count"] == stored


def test_without_content_capture_the_page_says_so(make_server: Any) -> None:
    server = make_server()
    replay(server, MODES["no PII"])
    (row,) = calls(server)["calls"]
    call = call_page(server, row["call_id"])
    assert call["content_captured"] is False
    assert call["turns"]
    assert all(t["user_text"] == "" for t in call["turns"])
    # the latencies are there all the same
    assert any(t["response_s"] for t in call["turns"])


def test_speech_to_speech_turns(make_server: Any) -> None:
    server = make_server()
    replay(server, MODES["speech-to-speech"])
    (row,) = calls(server)["calls"]
    call = call_page(server, row["call_id"])
    truth = recorded_turns("realtime_tools")
    turns = call["turns"]
    assert len(turns) == len(truth)
    for turn, attrs in zip(turns, truth, strict=True):
        assert turn["agent_text"] == attrs.get("lk.pii.response.text", "")
    assert [tool["name"] for t in turns for tool in t["tools"]] == ["get_weather", "get_weather"]
    # the reply that hit the provider's rate limit failed on its turn span, and says so
    (failed,) = [t for t in turns if t["errors"]]
    assert not failed["spoke"]
    assert "Rate limit" in failed["errors"][0]["message"]
    assert {"kind": "span", "name": "agent_turn"}.items() <= call["errors"][0].items()


def _span(name: str, sid: str, parent: str, start_s: float, end_s: float, **attrs: str) -> dict[str, Any]:
    return {
        "name": name,
        "span_id": sid,
        "parent_span_id": parent,
        "start_time_unix_nano": int(start_s * 1e9),
        "duration_ns": int((end_s - start_s) * 1e9),
        "status_code": "Unset",
        "status_message": "",
        "attributes": attrs,
    }


def test_flag_rule_and_stages_known_answers() -> None:
    assert [latency_flag(v) for v in (None, -0.1, 0.0, 0.7, 30.0, 30.01, 75.0)] == [
        "missing",
        "negative",
        "",
        "",
        "",
        "absurd",
        "absurd",
    ]
    spans = [
        _span("agent_session", "s", "", 0, 20),
        # a greeting: the agent spoke first, nobody waited
        _span("agent_turn", "a0", "s", 0.1, 2),
        _span("agent_speaking", "a0s", "a0", 0.5, 2),
        _span("user_turn", "u1", "s", 3, 5, **{"lk.pii.user_transcript": "hi", "lk.transcription_delay": "75.2"}),
        _span("user_speaking", "u1s", "u1", 3, 4.5),
        # a known clock bug: transcription 75 s (flagged); the LLM dominates what is left
        _span(
            "agent_turn",
            "a1",
            "s",
            4.6,
            9,
            **{
                "lk.e2e_latency": "1.9",
                "lk.end_of_turn_delay": "0.4",
                "lk.transcription_delay": "75.2",
                "lk.interrupted": "True",
                "lk.interruption.source": "audio_activity",
                "lk.playout.position": "1.5",
            },
        ),
        _span("llm_node", "l1", "a1", 4.7, 6, **{"lk.response.ttft": "1.1"}),
        _span("tts_node", "t1", "a1", 6, 7, **{"lk.response.ttfb": "0.2"}),
        _span("tts_request", "t1r", "t1", 6, 7, **{"lk.tts_metrics": '{"audio_duration": 6.0}'}),
        _span("agent_speaking", "a1s", "a1", 6.2, 9),
        # a negative response latency (flagged)
        _span("user_turn", "u2", "s", 10, 11),
        _span("agent_turn", "a2", "s", 11, 13, **{"lk.e2e_latency": "-0.3"}),
        _span("agent_speaking", "a2s", "a2", 11.5, 13),
        # the caller spoke and the agent answered aloud, yet no response latency: missing (flagged)
        _span("user_turn", "u3", "s", 13.5, 14),
        _span("agent_turn", "a3", "s", 14, 16),
        _span("agent_speaking", "a3s", "a3", 14.5, 16),
        # the agent spoke on its own (nobody waited)
        _span("agent_turn", "a4", "s", 17, 19),
        _span("agent_speaking", "a4s", "a4", 17.5, 19),
    ]
    turns = assemble_call(spans)["turns"]
    assert [t["user_turn_span_id"] for t in turns] == ["", "u1", "u2", "u3", ""]
    greeting, slow, negative, missing, unprompted = turns
    assert missing["response_flag"] == "missing"
    assert greeting["response_flag"] == ""
    assert greeting["response_s"] is None
    assert slow["flags"] == {"transcription": "absurd"}
    assert slow["dominant_stage"] == "llm_ttft"
    assert slow["response_flag"] == ""
    assert slow["interrupted"]
    assert slow["heard_share"] == 0.25
    assert negative["response_flag"] == "negative"
    assert unprompted["response_flag"] == ""  # the agent spoke on its own: nobody waited


def test_a_retried_attempt_is_shown_as_recovered_and_a_request_that_failed_as_failed() -> None:
    """On the call page a failed attempt whose request succeeded (a retry recovered it, the error panels'
    "recovered") is told apart from a request that failed after its retries."""

    def failed(span: dict[str, Any], message: str) -> dict[str, Any]:
        return {**span, "status_code": "Error", "status_message": message}

    spans = [
        _span("agent_session", "s", "", 0, 20),
        _span("user_turn", "u1", "s", 1, 2),
        _span("agent_turn", "a1", "s", 2, 9),
        _span("llm_node", "l1", "a1", 2.1, 4),
        _span("llm_request", "l1r", "l1", 2.1, 4),
        failed(_span("llm_request_run", "l1a", "l1r", 2.1, 2.5), "429 rate limited"),
        _span("llm_request_run", "l1b", "l1r", 2.6, 4),
        _span("tts_node", "t1", "a1", 4, 6),
        failed(_span("tts_request", "t1r", "t1", 4, 6), "402 quota"),
        failed(_span("tts_request_run", "t1a", "t1r", 4, 5), "402 quota"),
        failed(_span("tts_request_run", "t1b", "t1r", 5, 6), "402 quota"),
    ]
    (turn,) = assemble_call(spans)["turns"]
    assert sorted((e["name"], e["recovered"]) for e in turn["errors"]) == [
        ("llm_request_run", True),
        ("tts_request", False),
    ]
