"""Demo data: deterministic for a seed, realistic LiveKit shapes, and all of it stored."""

from __future__ import annotations

import json

import httpx
import pytest

from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.demo.generator import simulate
from livekit_dashboard.demo.script import conversation
from livekit_dashboard.server import DashboardServer

END = 1_795_000_000_000_000_000


def test_same_seed_same_calls() -> None:
    a = simulate(DemoConfig(calls=30, seed=7, end_ns=END))
    b = simulate(DemoConfig(calls=30, seed=7, end_ns=END))
    c = simulate(DemoConfig(calls=30, seed=8, end_ns=END))
    assert [(x.trace_id, len(x.spans), x.usage) for x in a] == [(x.trace_id, len(x.spans), x.usage) for x in b]
    assert [x.trace_id for x in a] != [x.trace_id for x in c]
    assert all(
        call.start_ns >= END - 2 * 86400 * 10**9 and call.end_ns <= END
        for call in simulate(DemoConfig(calls=30, days=2, seed=7, end_ns=END))
    )


def test_every_played_reply_has_words_speech_to_speech_too() -> None:
    """A reply the caller heard (it has a response latency) says something, as the framework records it
    (lk.pii.response.text): on pipeline calls from the TTS input, on speech-to-speech calls from the
    model's transcript."""
    calls = simulate(DemoConfig(calls=40, seed=7, end_ns=END))
    assert any(call.realtime for call in calls)
    assert any(not call.realtime for call in calls)
    played = [s for call in calls for s in call.spans if s.name == "agent_turn" and "lk.e2e_latency" in s.attributes]
    assert played
    assert all(s.attributes.get("lk.pii.response.text") for s in played)


def test_a_reply_that_calls_a_tool_says_what_it_found_speech_to_speech_too() -> None:
    """A tool runs inside its reply (function_tool under agent_turn), before the reply's first audio, and
    the reply reports its result, or apologises when it failed; a speech-to-speech turn also names the
    call (lk.pii.response.function_calls), as the framework records it."""
    calls = simulate(DemoConfig(calls=80, seed=7, end_ns=END))
    for realtime in (True, False):
        tools = [(c, s) for c in calls if c.realtime is realtime for s in c.spans if s.name == "function_tool"]
        assert tools, realtime
        for call, tool in tools:
            turn = next(s for s in call.spans if s.span_id == tool.parent_id)
            assert turn.name == "agent_turn"
            speaking = [s for s in call.spans if s.parent_id == turn.span_id and s.name == "agent_speaking"]
            if not speaking:  # the reply failed after the tool (its LLM step or TTS): nothing was said
                continue
            assert tool.end_ns <= speaking[0].start_ns
            reply = turn.attributes["lk.pii.response.text"]
            if tool.attributes["lk.function_tool.is_error"]:
                assert reply.startswith("Sorry")
                assert "gen_ai.tool.call.result" not in tool.attributes
            else:
                result = json.loads(tool.attributes["gen_ai.tool.call.result"])
                details = [v for v in result.values() if isinstance(v, str) and any(ch.isdigit() for ch in v)]
                assert all(d in reply for d in details[:1]), (reply, result)
            if realtime:
                named = json.loads(turn.attributes["lk.pii.response.function_calls"])
                assert [c["name"] for c in named] == [tool.attributes["lk.function_tool.name"]]


def test_a_calls_outcome_and_topic_are_its_conversations() -> None:
    """The evaluations logger's records match what was said: the topic tag is the conversation's, a call
    whose every reply and tool worked succeeded with the conversation's own reason, one with a failed reply
    or a tool error failed with its own, and a call that ended before its script did failed."""
    calls = simulate(DemoConfig(calls=200, seed=7, end_ns=END))
    outcomes: set[tuple[str, str]] = set()
    for call in calls:
        index = int(next(s for s in call.spans if s.name == "agent_session").attributes["lk.pii.room_name"][5:])
        said = conversation(index)
        turns = len([s for s in call.spans if s.name == "agent_turn"])
        records = {log.body: json.loads(log.attributes[log.body]) for log in call.logs if log.logger == "evaluations"}
        if "tag" in records:
            assert records["tag"]["name"] == f"topic:{said.topic}"
        if "outcome" in records:
            outcome, reason = records["outcome"]["outcome"], records["outcome"]["reason"]
            outcomes.add((said.topic, outcome))
            # a failed reply or a tool error (the agent apologised instead of answering) is a failed call
            troubled = any(
                (s.name == "agent_turn" and s.error) or s.attributes.get("lk.function_tool.is_error") is True
                for s in call.spans
            )
            if turns < len(said.lines):
                assert (outcome, reason) == ("fail", "the call ended early")
            elif troubled:
                assert (outcome, reason) == ("fail", said.failed)
            else:
                assert (outcome, reason) == ("success", said.done)
    assert {topic for topic, outcome in outcomes if outcome == "success"} == {"order", "booking", "billing", "support"}
    assert {outcome for _, outcome in outcomes} == {"success", "fail"}


def test_generated_telemetry_is_stored_whole(server: DashboardServer) -> None:
    summary = generate(DemoConfig(calls=60, days=3, seed=11, end_ns=END), server.base_url)
    q = server.engine.query
    assert q("SELECT count() AS n FROM otel_traces")[0]["n"] == summary.spans
    assert q("SELECT count() AS n FROM otel_logs")[0]["n"] == summary.logs
    points = sum(q(f"SELECT count() AS n FROM otel_metrics_{kind}")[0]["n"] for kind in ("sum", "histogram"))
    assert points == summary.metric_points
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()
    assert stats["traces"] == {"received": summary.spans, "stored": summary.spans, "rejected": 0}
    assert stats["logs"]["stored"] == summary.logs
    assert stats["metrics"]["stored"] == summary.metric_points

    # one call per root, several services and both SDK languages
    assert q("SELECT count() AS n FROM otel_traces WHERE SpanName = 'agent_session'")[0]["n"] == 60
    languages = q("SELECT DISTINCT ResourceAttributes['telemetry.sdk.language'] AS l FROM otel_traces ORDER BY l")
    assert [r["l"] for r in languages] == ["nodejs", "python"]
    assert q("SELECT uniqExact(ServiceName) AS n FROM otel_traces")[0]["n"] >= 3
    # usage sits on llm_request / realtime_inference only, never on llm_node or agent_turn
    usage_spans = q(
        "SELECT DISTINCT SpanName AS s FROM otel_traces WHERE mapContains(SpanAttributes, 'gen_ai.usage.input_tokens') "
        "ORDER BY s"
    )
    assert [r["s"] for r in usage_spans] in (["llm_request", "realtime_inference"], ["llm_request"])
    assert (
        q(
            "SELECT countIf(SpanAttributes['lk.tts_metrics'] != '') AS n FROM otel_traces "
            "WHERE SpanName = 'tts_request'"
        )[0]["n"]
        > 0
    )
    # failures carry ERROR status and an exception event; logs point at stored spans
    errors = q(
        "SELECT count() AS n, countIf(has(Events.Name, 'exception')) AS with_event FROM otel_traces "
        "WHERE StatusCode = 'Error'"
    )[0]
    assert errors["n"] == summary.errors > 0
    assert errors["with_event"] == errors["n"]
    orphans = q(
        "SELECT count() AS n FROM otel_logs WHERE SpanId != '' AND SpanId NOT IN (SELECT SpanId FROM otel_traces)"
    )
    assert orphans == [{"n": 0}]
    temporalities = q("SELECT DISTINCT AggregationTemporality AS t FROM otel_metrics_sum ORDER BY t")
    assert [r["t"] for r in temporalities] == [1, 2]


def test_a_phrase_a_demo_caller_said_finds_that_call(server: DashboardServer) -> None:
    """The demo's callers say things only their call holds (an order number, a booking reference), so the
    search box lands on one call; its tools show their arguments and results, and most calls name a user."""
    calls = simulate(DemoConfig(calls=40, days=2, seed=5, end_ns=END))
    generate(DemoConfig(calls=40, days=2, seed=5, end_ns=END), server.base_url)
    span_range = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"}
    listed = httpx.get(f"{server.base_url}/api/v1/calls", params={**span_range, "limit": 100}, timeout=60).json()
    assert listed["total"] == len(calls) == 40
    users = [row["user_email"] for row in listed["calls"]]
    assert 0 < users.count("") < len(users) / 2
    assert len(set(users) - {""}) == len(users) - users.count("")  # one caller per call

    phrases = {}
    for call in calls:
        first = next(s for s in call.spans if s.name == "agent_turn").attributes["lk.pii.user_input"]
        # its order number, booking reference or account number
        phrases[call.trace_id] = next(w.strip(".?") for w in first.split() if sum(ch.isdigit() for ch in w) >= 5)
    assert len(phrases) == 40
    for trace_id, phrase in phrases.items():
        found = httpx.get(f"{server.base_url}/api/v1/calls", params={**span_range, "q": phrase}, timeout=60).json()
        assert [row["trace_id"] for row in found["calls"]] == [f"{trace_id:032x}"], phrase

    tools = [
        tool
        for row in listed["calls"]
        for turn in httpx.get(f"{server.base_url}/api/v1/calls/{row['call_id']}", timeout=60).json()["turns"]
        for tool in turn["tools"]
    ]
    assert tools
    assert all(tool["arguments"].startswith("{") and tool["output"] for tool in tools)


def test_a_calls_flagged_latencies_are_the_flags_on_its_page(server: DashboardServer) -> None:
    """The call list's flagged_latencies counts what the call page marks ⚑: response latencies and stages
    the flag rule left out (the demo's transcription delays of a minute and more, from mixed clocks); its
    response p50 is the median of the valid responses the page shows."""
    generate(DemoConfig(calls=60, days=3, seed=11, end_ns=END), server.base_url)
    span_range = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"}
    listed = httpx.get(f"{server.base_url}/api/v1/calls", params={**span_range, "limit": 100}, timeout=60).json()
    assert listed["total"] == 60
    stage_flags = 0
    for row in listed["calls"]:
        turns = httpx.get(f"{server.base_url}/api/v1/calls/{row['call_id']}", timeout=60).json()["turns"]
        stages = sum(len(turn["flags"]) for turn in turns)
        # a reply without a response latency is marked `missing` on the page: no value was left out
        responses = sum(turn["response_flag"] not in ("", "missing") for turn in turns)
        assert row["flagged_latencies"] == stages + responses, row["call_id"]
        # its median response is the median of the valid ones the page shows (an even count: halfway)
        valid = sorted(t["response_s"] for t in turns if t["response_s"] is not None and not t["response_flag"])
        if valid:
            middle = len(valid) // 2
            median = valid[middle] if len(valid) % 2 else (valid[middle - 1] + valid[middle]) / 2
            assert row["response_p50_s"] == pytest.approx(median), row["call_id"]
        stage_flags += stages
    assert stage_flags > 0
    flagged = httpx.get(
        f"{server.base_url}/api/v1/calls", params={**span_range, "sort": "flagged_latencies", "limit": 1}, timeout=60
    ).json()["calls"][0]
    assert flagged["flagged_latencies"] == max(row["flagged_latencies"] for row in listed["calls"]) > 0


def test_a_calls_tool_errors_are_listed_on_its_page(server: DashboardServer) -> None:
    """A tool that returned an error (its span not failed) is a tool error in the call's record and in the
    error panels; the call page lists each one among the call's errors, linked to its span."""
    generate(DemoConfig(calls=60, days=3, seed=11, end_ns=END), server.base_url)
    span_range = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"}
    listed = httpx.get(f"{server.base_url}/api/v1/calls", params={**span_range, "limit": 100}, timeout=60).json()
    seen = 0
    for row in listed["calls"]:
        call = httpx.get(f"{server.base_url}/api/v1/calls/{row['call_id']}", timeout=60).json()
        tools = [e for e in call["errors"] if e["kind"] == "tool"]
        assert len(tools) == row["tool_errors"], row["call_id"]
        failed_tools = {t["span_id"] for turn in call["turns"] for t in turn["tools"] if t["is_error"]}
        assert {e["span_id"] for e in tools} <= failed_tools
        seen += len(tools)
    errors = httpx.get(f"{server.base_url}/api/v1/panels/error_rate", params=span_range, timeout=60).json()["rows"][0]
    assert seen == errors["tool_errors"] > 0
