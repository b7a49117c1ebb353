"""Scenario recorders for scripts/record_livekit.py (one scenario per process: the OTel meter and
logger providers are process-global and set once).

Each scenario runs a real livekit-agents 1.8.x AgentSession offline with the fakes of
scripts/record_livekit_fakes.py, captures what the real OpenTelemetry exporters / encoders produce,
and writes the framework's own accounting next to it (session.usage, SessionReport) plus a
summary.json of the numbers a replay test asserts. See tests/fixtures/livekit/README.md.

Sessions are driven by record_livekit_session.py, summarised by record_livekit_summary.py; the
Cloud-mode scenarios are in record_livekit_cloud.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from record_livekit_cloud import cloud_live, cloud_upload
from record_livekit_session import (
    OtelCapture,
    SessionResult,
    fake_job,
    make_agent,
    run_voice,
    session_result,
)
from record_livekit_summary import base_summary, write_ground_truth, write_json

# --------------------------------------------------------------------------------------------
# scenarios


def pipeline_audio(out_dir: Path) -> dict[str, Any]:
    """Spoken pipeline session: 4 user turns, a tool call, and a TTS 402 failure in turn 3."""
    capture = OtelCapture(
        "pipeline_audio", service_name="recorded-voice-agent", metadata={"assistant.id": "asst_voice"}
    )
    with fake_job("pipeline_audio", dispatched=True) as ctx:
        result = asyncio.run(run_voice(ctx, ["hello", "weather", "spell", "bye"], tts_failure=True))
    files = capture.write(out_dir)
    write_ground_truth(out_dir, result)
    return base_summary("pipeline_audio", result, capture, files)


def no_pii(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture(
        "no_pii", service_name="recorded-voice-agent", metadata={"assistant.id": "asst_voice"}, allow_pii=False
    )
    with fake_job("no_pii", dispatched=False) as ctx:
        result = asyncio.run(run_voice(ctx, ["hello", "weather"]))
    files = capture.write(out_dir)
    write_ground_truth(out_dir, result)
    return base_summary("no_pii", result, capture, files)


def no_job_context(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture("no_job_context", service_name="recorded-voice-agent", metadata=None)
    result = asyncio.run(run_voice(None, ["hello", "weather"]))
    files = capture.write(out_dir)
    write_ground_truth(out_dir, result)
    return base_summary("no_job_context", result, capture, files)


def delta_metrics(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture("delta_metrics", service_name="recorded-voice-agent", metadata=None, delta=True)
    with fake_job("delta_metrics", dispatched=False) as ctx:
        # one DELTA collection per turn (a periodic reader's export), one after session end
        result = asyncio.run(run_voice(ctx, ["hello", "weather", "bye"], after_turn=capture.collect_metrics))
    files = capture.write(out_dir)
    write_ground_truth(out_dir, result)
    return base_summary("delta_metrics", result, capture, files)


def realtime_tools(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture(
        "realtime_tools", service_name="recorded-realtime-agent", metadata={"assistant.id": "asst_realtime"}
    )
    with fake_job("realtime_tools", dispatched=True) as ctx:
        result = asyncio.run(_run_realtime(ctx))
    files = capture.write(out_dir)
    write_ground_truth(out_dir, result)
    summary = base_summary("realtime_tools", result, capture, files)
    summary["provider_calls"] = {"realtime": result.fakes["realtime"].log}
    summary["run_outcomes"] = result.extra["runs"]
    summary["realtime_usage_on_spans"] = _realtime_span_usage(capture.spans.get_finished_spans())
    return summary


REALTIME_INPUTS = [
    "Hi, who are you?",
    "What's the weather in Paris?",
    "Book a table for two",
    "Are you still there?",
    "And the weather in Rome?",
    "Thanks, bye",
]


def _realtime_replies() -> list[Any]:
    from record_livekit_fakes import RealtimeReply

    r = RealtimeReply
    fail = "Rate limit reached for gpt-realtime in organization org-recorder on tokens per min (TPM)"
    return [
        # 1: usage reported while the generation is open -> on realtime_inference
        r(
            text="Hi, I am your assistant.",
            input_text_tokens=118,
            input_audio_tokens=0,
            output_text_tokens=12,
            output_audio_tokens=64,
        ),
        # 2: tool call response (usage on its realtime_inference), then the tool reply whose usage
        #    arrives after the turn ended -> orphan `realtime_metrics` child span
        r(
            tool_call=("get_weather", '{"city": "Paris"}'),
            input_text_tokens=150,
            input_audio_tokens=64,
            cached_text_tokens=64,
            output_text_tokens=15,
        ),
        r(
            text="It is sunny in Paris.",
            metrics="late",
            input_text_tokens=175,
            input_audio_tokens=64,
            cached_text_tokens=128,
            cached_audio_tokens=64,
            output_text_tokens=10,
            output_audio_tokens=52,
        ),
        # 3: generate_reply fails (server error event + RealtimeError)
        r(fail=fail),
        # 4: the plugin gave the generation no response id -> usage only in counters/session.usage
        r(
            text="Yes, I am still here.",
            metrics="unmatched",
            input_text_tokens=210,
            input_audio_tokens=116,
            cached_text_tokens=128,
            cached_audio_tokens=64,
            output_text_tokens=9,
            output_audio_tokens=48,
        ),
        # 5: tool call ok, the reply after the tool fails
        r(
            tool_call=("get_weather", '{"city": "Rome"}'),
            input_text_tokens=236,
            input_audio_tokens=164,
            cached_text_tokens=192,
            cached_audio_tokens=116,
            output_text_tokens=15,
        ),
        r(fail=fail),
        # 6: normal
        r(
            text="Goodbye!",
            input_text_tokens=262,
            input_audio_tokens=164,
            cached_text_tokens=256,
            cached_audio_tokens=164,
            output_text_tokens=4,
            output_audio_tokens=22,
        ),
    ]


async def _run_realtime(ctx: Any) -> SessionResult:
    from livekit.agents import AgentSession
    from record_livekit_fakes import FakeRealtimeModel, RealtimeSpeaker

    model = FakeRealtimeModel(_realtime_replies())
    session = AgentSession(llm=model, vad=None, turn_handling={"turn_detection": None})
    session.output.audio = RealtimeSpeaker()
    await session.start(make_agent())
    runs = []
    for text in REALTIME_INPUTS:
        try:
            run = await session.run(user_input=text)
            runs.append({"user_input": text, "ok": True, "events": [type(e).__name__ for e in run.events]})
        except Exception as e:
            runs.append({"user_input": text, "ok": False, "error": f"{type(e).__name__}: {e}"})
        await asyncio.sleep(0.3)
    await asyncio.sleep(3.0)  # let the late usage report of reply 2 arrive
    await session.aclose()
    await ctx._on_session_end()
    result = session_result(ctx, session, {"realtime": model})
    result.extra["runs"] = runs
    return result


def _realtime_span_usage(spans: Any) -> dict[str, Any]:
    keys = (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.text.input_tokens",
        "gen_ai.usage.audio.input_tokens",
        "gen_ai.usage.text.output_tokens",
        "gen_ai.usage.audio.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
    )
    out: dict[str, Any] = {}
    for name in ("realtime_inference", "realtime_metrics"):
        matching = [s for s in spans if s.name == name]
        with_usage = [s for s in matching if "gen_ai.usage.input_tokens" in (s.attributes or {})]
        out[name] = {
            "count": len(matching),
            "with_usage": len(with_usage),
            "sums": {k: sum((s.attributes or {}).get(k, 0) for s in with_usage) for k in keys},
        }
    out["total_on_spans"] = {k: out["realtime_inference"]["sums"][k] + out["realtime_metrics"]["sums"][k] for k in keys}
    return out


SCENARIOS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "pipeline_audio": pipeline_audio,
    "realtime_tools": realtime_tools,
    "no_pii": no_pii,
    "no_job_context": no_job_context,
    "delta_metrics": delta_metrics,
    "cloud_upload": cloud_upload,
    "cloud_live": cloud_live,
}


def record(name: str, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    # batch files vary in number between recordings; everything else is overwritten
    for pattern in ("request_*.bin", "metrics_*.pb"):
        for old in out_dir.glob(pattern):
            old.unlink()
    summary = SCENARIOS[name](out_dir)
    write_json(out_dir / "summary.json", summary)
    print(json.dumps({k: summary[k] for k in ("scenario", "job_id", "ground_truth")}, indent=1, default=str))
