"""The LiveKit materialized views read every attribute dialect seen in the field and never double
count, whoever wrote the raw rows (here: plain INSERTs, as an OpenTelemetry Collector would)."""

from __future__ import annotations

import json
from typing import Any

from livekit_dashboard.query.panels import PanelQuery, run_panel
from livekit_dashboard.store import Engine

T0 = 1_790_000_000_000_000_000


def insert_span(
    engine: Engine,
    name: str,
    attrs: dict[str, Any],
    *,
    trace: str = "a" * 32,
    span: str = "1" * 16,
    parent: str = "",
    status: str = "Unset",
    offset_s: int = 0,
    service: str = "svc",
) -> None:
    engine.command(
        "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, "
        "ResourceAttributes, SpanAttributes, Duration, StatusCode) VALUES (fromUnixTimestamp64Nano({ts:Int64}), "
        "{trace:String}, {span:String}, {parent:String}, {name:String}, 'Internal', {service:String}, "
        "map('service.name', {service:String}, 'telemetry.sdk.language', 'python'), "
        "CAST(({keys:Array(String)}, {values:Array(String)}), 'Map(String, String)'), 1000000000, {status:String})",
        {
            "ts": T0 + offset_s * 10**9,
            "trace": trace,
            "span": span,
            "parent": parent,
            "name": name,
            "service": service,
            "keys": list(attrs),
            "values": [str(v) for v in attrs.values()],
            "status": status,
        },
    )


def totals(engine: Engine) -> dict[str, Any]:
    query = PanelQuery(start_ns=T0 - 10**12, end_ns=T0 + 10**12, step_s=60)
    return run_panel(engine, "token_usage_totals", query)[0]


def test_dotted_genai_keys_with_llm_node_parent_count_once(engine: Engine) -> None:
    insert_span(engine, "llm_node", {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o"}, span="1" * 16)
    insert_span(
        engine,
        "llm_request",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.output_tokens": 10,
            "gen_ai.usage.cache_read.input_tokens": 64,
            "gen_ai.usage.input_cached_tokens": 64,
            "gen_ai.usage.cache_write.input_tokens": 7,
            "gen_ai.usage.reasoning.output_tokens": 3,
        },
        span="2" * 16,
        parent="1" * 16,
    )
    insert_span(engine, "llm_request_run", {"gen_ai.request.model": "gpt-4o", "lk.retry_count": 0}, span="3" * 16)
    row = totals(engine)
    assert (row["requests"], row["input_tokens"], row["output_tokens"]) == (1, 100, 10)
    assert (row["cache_read_tokens"], row["cache_write_tokens"], row["reasoning_tokens"]) == (64, 7, 3)
    assert (row["input_text_tokens"], row["output_text_tokens"], row["input_audio_tokens"]) == (100, 10, 0)


def test_realtime_underscore_spellings(engine: Engine) -> None:
    insert_span(
        engine,
        "realtime_inference",
        {
            "gen_ai.operation.name": "generate_content",
            "gen_ai.request.model": "gpt-realtime",
            "gen_ai.usage.input_tokens": 500,
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.input_audio_tokens": 350,
            "gen_ai.usage.input_text_tokens": 150,
            "gen_ai.usage.output_audio_tokens": 280,
            "gen_ai.usage.output_text_tokens": 20,
        },
    )
    row = totals(engine)
    assert (row["input_audio_tokens"], row["input_text_tokens"]) == (350, 150)
    assert (row["output_audio_tokens"], row["output_text_tokens"]) == (280, 20)
    assert row["total_tokens"] == 800


def test_json_metrics_blobs_are_the_fallback(engine: Engine) -> None:
    rt = {
        "input_tokens": 90,
        "output_tokens": 40,
        "ttft": 0.3,
        "input_token_details": {
            "audio_tokens": 60,
            "text_tokens": 30,
            "cached_tokens": 20,
            "cached_tokens_details": {"audio_tokens": 15, "text_tokens": 5},
        },
        "output_token_details": {"audio_tokens": 35, "text_tokens": 5},
        "metadata": {"model_name": "gemini-live", "model_provider": "google"},
    }
    insert_span(engine, "realtime_inference", {"lk.realtime_model_metrics": json.dumps(rt)}, span="4" * 16)
    llm = {
        "prompt_tokens": 200,
        "completion_tokens": 12,
        "prompt_cached_tokens": 128,
        "ttft": 0.2,
        "metadata": {"model_name": "gpt-4.1", "model_provider": "api.openai.com"},
    }
    insert_span(engine, "llm_request", {"lk.llm_metrics": json.dumps(llm)}, span="5" * 16)
    tts = {
        "characters_count": 42,
        "audio_duration": 2.5,
        "ttfb": 0.15,
        "metadata": {"model_name": "sonic-2", "model_provider": "cartesia"},
    }
    insert_span(engine, "tts_request", {"lk.tts_metrics": json.dumps(tts)}, span="6" * 16)
    row = totals(engine)
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (290, 52, 148)
    assert (row["input_audio_tokens"], row["input_text_tokens"]) == (60, 230)
    requests = engine.query(
        "SELECT Stage, Model, Provider, TtftS, TtsCharacters, TtsAudioS, CachedAudioTokens, "
        "CachedTextTokens FROM lk_requests ORDER BY Stage"
    )
    assert requests == [
        {
            "Stage": "llm",
            "Model": "gpt-4.1",
            "Provider": "openai",  # canonical (lkd_provider)
            "TtftS": 0.2,
            "TtsCharacters": 0,
            "TtsAudioS": 0.0,
            "CachedAudioTokens": 0,
            "CachedTextTokens": 128,
        },
        {
            "Stage": "realtime",
            "Model": "gemini-live",
            "Provider": "google",
            "TtftS": 0.3,
            "TtsCharacters": 0,
            "TtsAudioS": 0.0,
            "CachedAudioTokens": 15,
            "CachedTextTokens": 5,
        },
        {
            "Stage": "tts",
            "Model": "sonic-2",
            "Provider": "cartesia",
            "TtftS": 0.15,
            "TtsCharacters": 42,
            "TtsAudioS": 2.5,
            "CachedAudioTokens": 0,
            "CachedTextTokens": 0,
        },
    ]


def test_attribute_keys_win_over_the_json(engine: Engine) -> None:
    insert_span(
        engine,
        "llm_request",
        {
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 1,
            "lk.llm_metrics": json.dumps({"prompt_tokens": 999, "completion_tokens": 99}),
        },
    )
    row = totals(engine)
    assert (row["input_tokens"], row["output_tokens"]) == (10, 1)


def test_openinference_and_custom_llm_node(engine: Engine) -> None:
    insert_span(
        engine,
        "ChatCompletion",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 70,
            "llm.token_count.completion": 7,
            "llm.token_count.prompt_details.cache_read": 32,
        },
        span="7" * 16,
    )
    # a custom llm_node that never calls LLM.chat() carries the usage itself
    insert_span(
        engine,
        "llm_node",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "local",
            "gen_ai.usage.input_tokens": 5,
            "gen_ai.usage.output_tokens": 2,
        },
        span="8" * 16,
    )
    row = totals(engine)
    assert (row["requests"], row["input_tokens"], row["output_tokens"], row["cache_read_tokens"]) == (2, 75, 9, 32)
    models = {r["Model"] for r in engine.query("SELECT Model FROM lk_requests")}
    assert models == {"gpt-4o-mini", "local"}


def test_turns_calls_and_errors_tables(engine: Engine) -> None:
    insert_span(
        engine,
        "agent_session",
        {"lk.job_id": "AJ_9", "lk.pii.room_name": "room-9", "lk.agent_name": "a"},
        span="9" * 16,
    )
    insert_span(
        engine, "agent_turn", {"lk.e2e_latency": 0.9, "lk.end_of_turn_delay": 0.4}, span="a" * 16, status="Error"
    )
    insert_span(engine, "assistant_turn", {"lk.end_of_utterance_delay": 0.2}, span="b" * 16)
    insert_span(
        engine,
        "function_tool",
        {"lk.function_tool.is_error": "true", "error.type": "tool_error", "lk.function_tool.output": "no such slot"},
        span="c" * 16,
    )
    assert engine.query("SELECT CallId, RoomName, AgentName FROM lk_calls") == [
        {"CallId": "AJ_9", "RoomName": "room-9", "AgentName": "a"}
    ]
    turns = engine.query("SELECT E2eLatencyS, EndOfTurnDelayS, IsError FROM lk_turns ORDER BY SpanId")
    assert turns == [
        {"E2eLatencyS": 0.9, "EndOfTurnDelayS": 0.4, "IsError": 1},
        {"E2eLatencyS": None, "EndOfTurnDelayS": 0.2, "IsError": 0},
    ]
    errors = engine.query("SELECT SpanName, ErrorType, Message FROM lk_errors ORDER BY SpanName")
    assert errors == [
        {"SpanName": "agent_turn", "ErrorType": "", "Message": ""},
        {"SpanName": "function_tool", "ErrorType": "tool_error", "Message": "no such slot"},
    ]
