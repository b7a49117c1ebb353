"""Scenario recorders for scripts/record_livekit.py (one scenario per process: the OTel meter and
logger providers are process-global and set once).

Each scenario runs a real livekit-agents 1.8.x AgentSession offline with the fakes of
scripts/record_livekit_fakes.py, captures what the real OpenTelemetry exporters / encoders produce,
and writes the framework's own accounting next to it (session.usage, SessionReport) plus a
summary.json of the numbers a replay test asserts. See tests/fixtures/livekit/README.md.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.parser
import email.policy
import gzip
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

VERSION_PIN = "livekit-agents==1.8.9"

# test-only credentials for the cloud_upload scenario (recorded in its summary.json)
CLOUD_API_KEY = "APIrecorderTestKey"
CLOUD_API_SECRET = "recorder-test-secret-0123456789abcdefghijklmnop"

INSTRUCTIONS = "You are a helpful voice assistant."


# --------------------------------------------------------------------------------------------
# scripts


@dataclass
class VoiceTurn:
    transcript: str
    speech_seconds: float


VOICE_TURNS = {
    "hello": VoiceTurn("Hello there", 0.8),
    "weather": VoiceTurn("What is the weather in Paris?", 1.2),
    "spell": VoiceTurn("Can you spell that for me?", 1.0),
    "bye": VoiceTurn("Thanks, bye", 0.8),
}


def _llm_script() -> tuple[dict[str, list[Any]], Any]:
    from record_livekit_fakes import LLMStep

    steps = {
        "hello": [LLMStep(text="Hi! How can I help you today?", prompt_tokens=512, completion_tokens=9)],
        "weather": [
            LLMStep(tool_call=("get_weather", '{"city": "Paris"}'), prompt_tokens=586, completion_tokens=17),
            LLMStep(text="It is sunny in Paris today.", prompt_tokens=640, completion_tokens=8, cached_tokens=512),
        ],
        "spell": [LLMStep(text="P, A, R, I, S.", prompt_tokens=672, completion_tokens=11, cached_tokens=512)],
    }
    default = LLMStep(text="Goodbye, have a nice day!", prompt_tokens=701, completion_tokens=7, cached_tokens=640)
    return steps, default


def _tts_fails_on_spelling(text: str) -> Any:
    from livekit.agents import APIStatusError

    if "P, A, R" in text:
        return APIStatusError("Payment Required: insufficient credits", status_code=402, retryable=False)
    return None


def _make_agent() -> Any:
    from livekit.agents import Agent, function_tool

    class Assistant(Agent):
        def __init__(self) -> None:
            super().__init__(instructions=INSTRUCTIONS)

        @function_tool
        async def get_weather(self, city: str) -> str:
            """Look up the weather in a city."""
            # the agent's own log line: exported with the trace/span ids of its function_tool span
            logging.getLogger("recorded-agent").info("looking up the weather", extra={"city": city})
            return f"It is sunny in {city}."

    return Assistant()


# --------------------------------------------------------------------------------------------
# OTel capture (user-configured providers, as the livekit docs show)


def _seeded_id_generator(seed: str) -> Any:
    """Span/trace ids from a seeded PRNG: the same script yields the same trace id."""
    import random

    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class SeededIds(IdGenerator):
        def __init__(self) -> None:
            self._rng = random.Random(seed)
            self._lock = threading.Lock()

        def generate_span_id(self) -> int:
            with self._lock:
                return self._rng.getrandbits(64) or 1

        def generate_trace_id(self) -> int:
            with self._lock:
                return self._rng.getrandbits(128) or 1

    return SeededIds()


@contextlib.contextmanager
def _fake_job(scenario: str, *, dispatched: bool, simulation_run: str | None = None) -> Iterator[Any]:
    """`fake_job_context()` made to look like a worker's job: the room object carries the job's
    room name (the job process sets it before the entrypoint; a fake job leaves it empty, so
    `lk.pii.room_name` would be ""), the room SID is pinned (fake_job_context draws a random
    one) and, if `dispatched`, the job has an agent name and dispatch id (explicit dispatch). With
    `simulation_run` the job is a simulation's (the dispatch attribute LiveKit's simulator sets)."""
    import hashlib

    from livekit import rtc
    from livekit.agents.testing import fake_job_context

    room = rtc.Room()
    room._info.name = f"recorded-{scenario.replace('_', '-')}"
    with fake_job_context(room=room, job_id=f"AJ_{scenario}") as ctx:
        ctx.job.room.sid = "RM_" + hashlib.sha1(scenario.encode()).hexdigest()[:12]
        if dispatched:
            ctx.job.agent_name = "recorded-agent"
            ctx.job.dispatch_id = "AD_" + hashlib.sha1(f"dispatch-{scenario}".encode()).hexdigest()[:12]
        if simulation_run:
            from google.protobuf import json_format
            from livekit.agents.types import ATTRIBUTE_SIMULATOR_DISPATCH
            from livekit.protocol import agent_simulation

            dispatch = agent_simulation.SimulationDispatch(
                simulation_run_id=simulation_run,
                job_id=f"SJ_{scenario}",
                mode=agent_simulation.SIMULATION_MODE_AUDIO,  # the scripted caller speaks
            )
            ctx.job.attributes[ATTRIBUTE_SIMULATOR_DISPATCH] = json_format.MessageToJson(dispatch)
        yield ctx


class OtelCapture:
    """In-memory span/log exporters and a metric reader; bodies encoded by the real OTLP encoders."""

    def __init__(
        self,
        scenario: str,
        *,
        service_name: str,
        metadata: dict[str, Any] | None,
        allow_pii: bool | None = None,
        delta: bool = False,
    ) -> None:
        from livekit.agents.telemetry import set_tracer_provider
        from opentelemetry import metrics
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
        from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
        from opentelemetry.sdk.metrics import Counter as SdkCounter
        from opentelemetry.sdk.metrics import Histogram as SdkHistogram
        from opentelemetry.sdk.metrics import (
            MeterProvider,
            ObservableCounter,
            ObservableGauge,
            ObservableUpDownCounter,
            UpDownCounter,
        )
        from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        resource = Resource.create({"service.name": service_name, "service.version": "0.0.1"})
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource, id_generator=_seeded_id_generator(scenario))
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        set_tracer_provider(self.tracer_provider, metadata=metadata, allow_pii=allow_pii)
        temporality = None
        if delta:
            temporality = dict.fromkeys(
                (SdkCounter, UpDownCounter, SdkHistogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge),
                AggregationTemporality.DELTA,
            )
        self.delta = delta
        self.reader = InMemoryMetricReader(preferred_temporality=temporality)
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[self.reader]))
        self.logs = InMemoryLogRecordExporter()
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.logs))
        set_logger_provider(logger_provider)
        logging.getLogger().addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
        logging.getLogger().setLevel(logging.INFO)
        self.metric_batches: list[Any] = []

    def collect_metrics(self) -> None:
        data = self.reader.get_metrics_data()
        if data is not None and any(sm.metrics for rm in data.resource_metrics for sm in rm.scope_metrics):
            self.metric_batches.append(data)

    def write(self, out_dir: Path) -> dict[str, Any]:
        from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        self.tracer_provider.force_flush()
        self.collect_metrics()
        finished = self.spans.get_finished_spans()
        (out_dir / "traces.pb").write_bytes(encode_spans(finished).SerializeToString())
        (out_dir / "logs.pb").write_bytes(encode_logs(self.logs.get_finished_logs()).SerializeToString())
        files = []
        if self.delta:
            for i, batch in enumerate(self.metric_batches):
                name = f"metrics_{i}.pb"
                (out_dir / name).write_bytes(encode_metrics(batch).SerializeToString())
                files.append(name)
        elif self.metric_batches:
            # cumulative: the last collection holds every series' running total
            (out_dir / "metrics.pb").write_bytes(encode_metrics(self.metric_batches[-1]).SerializeToString())
            files.append("metrics.pb")
        return {"traces": ["traces.pb"], "logs": ["logs.pb"], "metrics": files}


# --------------------------------------------------------------------------------------------
# driving a voice session


async def _wait_reply(session: Any, *, quiet: float = 0.8, timeout: float = 20.0) -> None:
    """Wait until the agent left `listening` (thinking/speaking) and has been back for `quiet` s."""
    deadline = time.monotonic() + timeout
    left = False
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        if session.agent_state != "listening":
            left, quiet_since = True, None
        elif left:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError("the agent did not answer the scripted turn")


async def _speak_turns(session: Any, mic: Any, turns: list[VoiceTurn], after_turn: Callable[[], None] | None) -> None:
    await asyncio.sleep(0.5)
    for turn in turns:
        await mic.speak(turn.speech_seconds)
        await _wait_reply(session)
        if after_turn is not None:
            after_turn()


def _voice_session(turn_keys: list[str], *, tts_failure: bool) -> tuple[Any, Any, Any, list[VoiceTurn]]:
    from livekit.agents import AgentSession
    from record_livekit_fakes import EnergyVAD, FakeTTS, RealtimeSpeaker, ScriptedLLM, ScriptedMicrophone, ScriptedSTT

    turns = [VOICE_TURNS[k] for k in turn_keys]
    steps, default = _llm_script()
    fakes = {
        "llm": ScriptedLLM(steps, default),
        "tts": FakeTTS(fail_on=_tts_fails_on_spelling if tts_failure else None),
        "stt": ScriptedSTT([t.transcript for t in turns]),
    }
    session = AgentSession(
        llm=fakes["llm"],
        tts=fakes["tts"],
        stt=fakes["stt"],
        vad=EnergyVAD(),
        turn_handling={"turn_detection": "vad", "interruption": {"mode": "vad"}},
    )
    mic, speaker = ScriptedMicrophone(), RealtimeSpeaker()
    session.input.audio = mic
    session.output.audio = speaker
    return session, mic, fakes, turns


@dataclass
class SessionResult:
    usage: list[dict[str, Any]]
    report: dict[str, Any] | None
    history: dict[str, Any]
    fakes: dict[str, Any]
    ids: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


async def _run_voice(
    ctx: Any,
    turn_keys: list[str],
    *,
    tts_failure: bool = False,
    record: bool | None = None,
    after_turn: Callable[[], None] | None = None,
    before_close: Callable[[], None] | None = None,
    end_of_job: Callable[[], Awaitable[None]] | None = None,
) -> SessionResult:
    session, mic, fakes, turns = _voice_session(turn_keys, tts_failure=tts_failure)
    if record is None:
        await session.start(_make_agent())
    else:
        await session.start(_make_agent(), record=record)
    await _speak_turns(session, mic, turns, after_turn)
    if before_close is not None:
        before_close()
    mic.close()
    await session.aclose()
    if ctx is not None:
        # what the worker's job process does after the session: flushes the lk.agents.turn.*
        # histograms and, in Cloud mode, uploads the session report
        await ctx._on_session_end()
    if end_of_job is not None:
        await end_of_job()
    return _session_result(ctx, session, fakes)


def _session_result(ctx: Any, session: Any, fakes: dict[str, Any]) -> SessionResult:
    usage = [u.model_dump() for u in session.usage.model_usage]
    report = ctx.make_session_report(session).to_dict() if ctx is not None else None
    ids = (
        {"job_id": ctx.job.id, "room_id": ctx.job.room.sid, "room": ctx.job.room.name, "agent_name": ctx.job.agent_name}
        if ctx is not None
        else {"job_id": None, "room_id": None, "room": None, "agent_name": None}
    )
    history = session.history.to_dict(exclude_timestamp=False)
    return SessionResult(usage=usage, report=report, history=history, fakes=fakes, ids=ids)


# --------------------------------------------------------------------------------------------
# summaries


def _json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, default=str, sort_keys=False) + "\n")


def _span_summary(spans: Any) -> dict[str, Any]:
    from opentelemetry.trace import StatusCode

    names = sorted(s.name for s in spans)
    errors = [
        {
            "span": s.name,
            "error.type": (s.attributes or {}).get("error.type"),
            "status_message": s.status.description,
        }
        for s in sorted(spans, key=lambda s: s.start_time or 0)
        if s.status.status_code == StatusCode.ERROR
    ]
    roots = sorted(s.name for s in spans if s.parent is None)
    traces = sorted({format(s.context.trace_id, "032x") for s in spans})
    ordered = sorted(spans, key=lambda s: s.start_time or 0)
    agent_turns = [s for s in ordered if s.name == "agent_turn"]
    user_turns = [s for s in ordered if s.name == "user_turn"]

    def attr(s: Any, key: str) -> Any:
        return (s.attributes or {}).get(key)

    llm_requests = [s for s in ordered if s.name == "llm_request"]
    tts_requests = [s for s in ordered if s.name == "tts_request"]
    tts_chars = 0
    tts_audio = 0.0
    for s in tts_requests:
        if blob := attr(s, "lk.tts_metrics"):
            m = json.loads(blob)
            tts_chars += m["characters_count"]
            tts_audio += m["audio_duration"]
    return {
        "spans": names,
        "span_counts": dict(sorted(Counter(names).items())),
        "root_spans": roots,
        "trace_ids": traces,
        "error_spans": errors,
        "user_turn_spans": [
            {
                k: attr(s, k)
                for k in (
                    "lk.pii.user_transcript",
                    "lk.transcription_delay",
                    "lk.end_of_turn_delay",
                    "lk.transcript_confidence",
                )
            }
            for s in user_turns
        ],
        "agent_turn_spans": [
            {
                "status": s.status.status_code.name,
                **{
                    k: attr(s, k)
                    for k in (
                        "lk.pii.user_input",
                        "lk.pii.response.text",
                        "lk.e2e_latency",
                        "lk.transcription_delay",
                        "lk.end_of_turn_delay",
                        "lk.generation_count",
                    )
                },
            }
            for s in agent_turns
        ],
        "llm_request_spans": {
            "count": len(llm_requests),
            "ok": sum(1 for s in llm_requests if s.status.status_code != StatusCode.ERROR),
            "input_tokens": sum(attr(s, "gen_ai.usage.input_tokens") or 0 for s in llm_requests),
            "output_tokens": sum(attr(s, "gen_ai.usage.output_tokens") or 0 for s in llm_requests),
            "cache_read_input_tokens": sum(attr(s, "gen_ai.usage.cache_read.input_tokens") or 0 for s in llm_requests),
        },
        "tts_request_spans": {
            "count": len(tts_requests),
            "ok": sum(1 for s in tts_requests if s.status.status_code != StatusCode.ERROR),
            "characters_from_lk.tts_metrics": tts_chars,
            "audio_duration_from_lk.tts_metrics": round(tts_audio, 6),
        },
        "tts_node_ttfb": [attr(s, "lk.response.ttfb") for s in ordered if s.name == "tts_node"],
    }


def _metric_summary(batches: list[Any]) -> dict[str, Any]:
    """Counter totals (summed over batches and series) and histogram counts, by metric name."""
    sums: dict[str, float] = {}
    histograms: dict[str, int] = {}
    temporality: set[str] = set()
    attrs: dict[str, list[str]] = {}
    for batch in batches:
        for rm in batch.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = type(m.data).__name__
                    temporality.add(m.data.aggregation_temporality.name)
                    for p in m.data.data_points:
                        attrs.setdefault(m.name, sorted(set(attrs.get(m.name, [])) | set((p.attributes or {}).keys())))
                        if kind == "Sum":
                            sums[m.name] = sums.get(m.name, 0) + p.value
                        elif kind == "Histogram":
                            histograms[m.name] = histograms.get(m.name, 0) + p.count
    per_batch = [
        {
            m.name: round(sum(p.value for p in m.data.data_points), 6)
            for rm in batch.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if type(m.data).__name__ == "Sum"
        }
        for batch in batches
    ]
    return {
        "temporality": sorted(temporality),
        "batches": len(batches),
        "counter_values_per_batch": per_batch,
        "counter_totals": {k: round(v, 6) for k, v in sorted(sums.items())},
        "histogram_counts": dict(sorted(histograms.items())),
        "point_attribute_keys": dict(sorted(attrs.items())),
    }


_CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.tool.description",
}


def _pii_keys(spans: Any) -> list[str]:
    """lk.pii.* and GenAI content attribute keys found on any span (allow_pii=False strips them)."""
    keys = {k for s in spans for k in (s.attributes or {})}
    return sorted(k for k in keys if "pii" in k.split(".") or k in _CONTENT_KEYS)


def _log_summary(records: Any, spans: Any) -> dict[str, Any]:
    span_names = {s.context.span_id: s.name for s in spans}
    out = []
    for r in records:
        lr = r.log_record
        out.append(
            {
                "severity": lr.severity_text,
                "body": str(lr.body)[:120],
                "scope": r.instrumentation_scope.name if r.instrumentation_scope else None,
                "has_trace": bool(lr.trace_id),
                "span": span_names.get(lr.span_id) if lr.span_id else None,
                "exception.type": (lr.attributes or {}).get("exception.type"),
            }
        )
    return {"count": len(out), "by_severity": dict(Counter(o["severity"] for o in out)), "records": out}


def _usage_by_type(usage: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for u in usage:
        key = f"{u['type']}:{u.get('provider')}/{u.get('model')}"
        out[key] = {k: v for k, v in u.items() if k not in ("type", "provider", "model") and v}
    return out


def _chat_turns(history: dict[str, Any]) -> dict[str, Any]:
    items = history.get("items", [])
    users = [i for i in items if i.get("type") == "message" and i.get("role") == "user"]
    assistants = [i for i in items if i.get("type") == "message" and i.get("role") == "assistant"]
    return {
        "user_messages": [" ".join(c for c in i["content"] if isinstance(c, str)) for i in users],
        "assistant_messages": [" ".join(c for c in i["content"] if isinstance(c, str)) for i in assistants],
        "function_calls": [i.get("name") for i in items if i.get("type") == "function_call"],
        "e2e_latency_per_reply": [i.get("metrics", {}).get("e2e_latency") for i in assistants],
        "transcription_delay_per_user_turn": [i.get("metrics", {}).get("transcription_delay") for i in users],
        "end_of_turn_delay_per_user_turn": [i.get("metrics", {}).get("end_of_turn_delay") for i in users],
    }


def _base_summary(name: str, result: SessionResult, capture: OtelCapture | None, files: dict[str, Any]) -> dict:
    import livekit.agents

    summary: dict[str, Any] = {
        "scenario": name,
        "livekit_agents_version": livekit.agents.__version__,
        "command": f"/tmp/lk/bin/python scripts/record_livekit.py --scenario {name} tests/fixtures/livekit/{name}",
        "files": files,
        **result.ids,
        "ground_truth": {
            "usage": _usage_by_type(result.usage),
            "user_turns": result.report["user_turns"] if result.report else None,
            "errors": result.report["errors"] if result.report else None,
            "close_reason": result.report["close_reason"] if result.report else None,
            "tags": result.report["tags"] if result.report else None,
            **_chat_turns(result.history),
        },
    }
    if "llm" in result.fakes:
        summary["provider_calls"] = {"llm": result.fakes["llm"].log}
    if "tts" in result.fakes:
        summary["provider_calls"]["tts"] = result.fakes["tts"].requests
    if "stt" in result.fakes:
        summary["provider_calls"]["stt_usage_events_seconds"] = result.fakes["stt"].usage_reported
    if capture is not None:
        spans = capture.spans.get_finished_spans()
        summary["traces"] = _span_summary(spans)
        summary["metrics"] = _metric_summary(capture.metric_batches)
        summary["logs"] = _log_summary(capture.logs.get_finished_logs(), spans)
        summary["trace_ids"] = summary["traces"]["trace_ids"]
        summary["pii_attribute_keys_present"] = _pii_keys(spans)
        counts = summary["traces"]["span_counts"]
        summary["counts"] = {
            "user_turns_report": summary["ground_truth"]["user_turns"],
            "user_turn_spans": counts.get("user_turn", 0),
            "agent_turn_spans": counts.get("agent_turn", 0),
            "agent_replies_spoken": len(summary["ground_truth"]["assistant_messages"]),
            "llm_request_spans": counts.get("llm_request", 0),
            "realtime_inference_spans": counts.get("realtime_inference", 0),
            "tts_request_spans": counts.get("tts_request", 0),
            "function_tool_spans": counts.get("function_tool", 0),
            "error_spans": len(summary["traces"]["error_spans"]),
        }
    return summary


def _write_ground_truth(out_dir: Path, result: SessionResult) -> None:
    _json(out_dir / "session_usage.json", result.usage)
    if result.report is not None:
        _json(out_dir / "session_report.json", result.report)


# --------------------------------------------------------------------------------------------
# scenarios


def pipeline_audio(out_dir: Path) -> dict[str, Any]:
    """Spoken pipeline session: 4 user turns, a tool call, and a TTS 402 failure in turn 3."""
    capture = OtelCapture(
        "pipeline_audio", service_name="recorded-voice-agent", metadata={"assistant.id": "asst_voice"}
    )
    with _fake_job("pipeline_audio", dispatched=True) as ctx:
        result = asyncio.run(_run_voice(ctx, ["hello", "weather", "spell", "bye"], tts_failure=True))
    files = capture.write(out_dir)
    _write_ground_truth(out_dir, result)
    return _base_summary("pipeline_audio", result, capture, files)


def no_pii(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture(
        "no_pii", service_name="recorded-voice-agent", metadata={"assistant.id": "asst_voice"}, allow_pii=False
    )
    with _fake_job("no_pii", dispatched=False) as ctx:
        result = asyncio.run(_run_voice(ctx, ["hello", "weather"]))
    files = capture.write(out_dir)
    _write_ground_truth(out_dir, result)
    return _base_summary("no_pii", result, capture, files)


def no_job_context(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture("no_job_context", service_name="recorded-voice-agent", metadata=None)
    result = asyncio.run(_run_voice(None, ["hello", "weather"]))
    files = capture.write(out_dir)
    _write_ground_truth(out_dir, result)
    return _base_summary("no_job_context", result, capture, files)


def delta_metrics(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture("delta_metrics", service_name="recorded-voice-agent", metadata=None, delta=True)
    with _fake_job("delta_metrics", dispatched=False) as ctx:
        # one DELTA collection per turn (a periodic reader's export), one after session end
        result = asyncio.run(_run_voice(ctx, ["hello", "weather", "bye"], after_turn=capture.collect_metrics))
    files = capture.write(out_dir)
    _write_ground_truth(out_dir, result)
    return _base_summary("delta_metrics", result, capture, files)


def realtime_tools(out_dir: Path) -> dict[str, Any]:
    capture = OtelCapture(
        "realtime_tools", service_name="recorded-realtime-agent", metadata={"assistant.id": "asst_realtime"}
    )
    with _fake_job("realtime_tools", dispatched=True) as ctx:
        result = asyncio.run(_run_realtime(ctx))
    files = capture.write(out_dir)
    _write_ground_truth(out_dir, result)
    summary = _base_summary("realtime_tools", result, capture, files)
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
    await session.start(_make_agent())
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
    result = _session_result(ctx, session, {"realtime": model})
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


# --------------------------------------------------------------------------------------------
# cloud_upload: LIVEKIT_OBSERVABILITY_URL pointed at a local capture server


@dataclass
class CapturedRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    phase: str
    received_at: float


class _CaptureServer:
    def __init__(self) -> None:
        self.requests: list[CapturedRequest] = []
        self.phase = "session"
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._read_body()
                server.requests.append(
                    CapturedRequest(
                        method=self.command,
                        path=self.path,
                        headers=list(self.headers.items()),
                        body=body,
                        phase=server.phase,
                        received_at=time.time(),
                    )
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _handle  # noqa: N815 (http.server's handler naming)
            do_PUT = _handle  # noqa: N815
            do_GET = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @contextlib.contextmanager
    def running(self) -> Iterator[_CaptureServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()


def _b64url(part: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _decode_jwt(token: str) -> dict[str, Any]:
    import jwt

    header, claims, _sig = token.split(".")
    verified = jwt.decode(token, CLOUD_API_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    return {"header": _b64url(header), "claims": _b64url(claims), "verifies_with_test_secret": verified is not None}


def _describe_request(req: CapturedRequest) -> dict[str, Any]:
    """Decode a captured body: OTLP (gunzip + protobuf) or the multipart session-report upload."""
    from google.protobuf import json_format
    from livekit.protocol import metrics as proto_metrics
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    headers = {k.lower(): v for k, v in req.headers}
    body = req.body
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    out: dict[str, Any] = {}
    if req.path.endswith("/traces/otlp/v0"):
        msg = ExportTraceServiceRequest.FromString(body)
        spans = [s for rs in msg.resource_spans for ss in rs.scope_spans for s in ss.spans]
        out["otlp"] = {
            "signal": "traces",
            "span_names": sorted(s.name for s in spans),
            "trace_ids": sorted({s.trace_id.hex() for s in spans}),
            "resource": [
                {a.key: json_format.MessageToDict(a.value) for a in rs.resource.attributes} for rs in msg.resource_spans
            ],
        }
    elif req.path.endswith("/logs/otlp/v0"):
        msg = ExportLogsServiceRequest.FromString(body)
        records = []
        for rl in msg.resource_logs:
            for sl in rl.scope_logs:
                for lr in sl.log_records:
                    records.append(
                        {
                            "scope": sl.scope.name,
                            "body": json_format.MessageToDict(lr.body).get("stringValue", "")[:80],
                            "severity": lr.severity_text,
                            "attributes": sorted(a.key for a in lr.attributes),
                        }
                    )
        out["otlp"] = {"signal": "logs", "records": records}
    elif req.path.endswith("/metrics/otlp/v0"):
        msg = ExportMetricsServiceRequest.FromString(body)
        names = []
        temporality = set()
        for rm in msg.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    names.append(m.name)
                    kind = m.WhichOneof("data")
                    if kind in ("sum", "histogram"):
                        temporality.add(getattr(m, kind).aggregation_temporality)
        out["otlp"] = {
            "signal": "metrics",
            "metric_names": sorted(names),
            "aggregation_temporality": sorted(metrics_pb2.AggregationTemporality.Name(t) for t in temporality),
        }
    elif req.path.endswith("/recordings/v0"):
        raw = b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        parts = []
        for part in message.iter_parts():
            payload = part.get_payload(decode=True) or b""
            info: dict[str, Any] = {
                "name": part.get_param("name", header="content-disposition"),
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "bytes": len(payload),
            }
            if info["name"] == "header":
                hdr = proto_metrics.MetricsRecordingHeader.FromString(payload)
                decoded = json_format.MessageToDict(hdr, preserving_proto_field_name=True)
                decoded["session_summary"] = json.loads(hdr.session_summary)
                info["decoded"] = decoded
            elif info["name"] == "chat_history":
                items = json.loads(payload)["items"]
                info["item_types"] = [i.get("type") for i in items]
            elif info["name"] == "audio":
                info["magic"] = payload[:4].decode("latin-1")
            parts.append(info)
        out["multipart_parts"] = parts
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer "):
        out["jwt"] = _decode_jwt(auth.removeprefix("Bearer "))
    return out


def _cloud_session(
    scenario: str,
    turn_keys: list[str],
    *,
    record: Any = True,
    simulation_run: str | None = None,
    on_phase: Callable[[str], None] = lambda _phase: None,
) -> SessionResult:
    """One job of a worker in Cloud mode: LIVEKIT_OBSERVABILITY_URL, LIVEKIT_API_KEY and
    LIVEKIT_API_SECRET are set by the caller, no user providers at all (the zero-code path: the
    framework builds every pipeline itself); the agent tags the call a success with a topic tag. Ends
    as the worker's job process does: session end, job cleanup (per-job flush), process exit."""
    import atexit

    from livekit.agents.telemetry import traces as lk_traces
    from livekit.agents.utils import http_context

    logging.getLogger().setLevel(logging.INFO)

    def tag() -> None:
        ctx.tagger.success(reason="caller got the weather")
        ctx.tagger.add("topic:weather", metadata={"city": "Paris", "source": "recorder"})

    async def end_of_session() -> None:
        on_phase("job_cleanup")
        await ctx._on_cleanup()  # per-job flush of the Cloud exporters (job_proc_lazy_main does this)

    async def main() -> SessionResult:
        http_context._new_session_ctx()  # the job process opens this before the entrypoint
        try:

            def session_end_phase() -> None:
                tag()
                on_phase("session_end")

            return await _run_voice(
                ctx,
                turn_keys,
                tts_failure="spell" in turn_keys,
                record=record,
                before_close=session_end_phase,
                end_of_job=end_of_session,
            )
        finally:
            await http_context._close_http_ctx()

    with _fake_job(scenario, dispatched=True, simulation_run=simulation_run) as ctx:
        result = asyncio.run(main())
    on_phase("process_exit")
    lk_traces._cloud.shutdown_at_exit()  # what atexit runs in a worker process
    atexit.unregister(lk_traces._cloud.shutdown_at_exit)
    time.sleep(0.5)
    return result


def cloud_upload(out_dir: Path) -> dict[str, Any]:
    server = _CaptureServer()
    with server.running():
        os.environ["LIVEKIT_OBSERVABILITY_URL"] = server.url
        os.environ["LIVEKIT_API_KEY"] = CLOUD_API_KEY
        os.environ["LIVEKIT_API_SECRET"] = CLOUD_API_SECRET

        def phase(name: str) -> None:
            server.phase = name

        result = _cloud_session("cloud_upload", ["hello", "weather", "spell", "bye"], on_phase=phase)

    index = []
    for i, req in enumerate(server.requests):
        name = f"request_{i:02d}.bin"
        (out_dir / name).write_bytes(req.body)
        headers = {k.lower(): v for k, v in req.headers}
        index.append(
            {
                "file": name,
                "method": req.method,
                "path": req.path,
                "phase": req.phase,
                "headers": req.headers,
                "content_type": headers.get("content-type"),
                "content_encoding": headers.get("content-encoding"),
                "body_bytes": len(req.body),
                **_describe_request(req),
            }
        )
    _json(out_dir / "requests.json", index)
    _write_ground_truth(out_dir, result)
    files = {"requests": [r["file"] for r in index], "index": "requests.json"}
    summary = _base_summary("cloud_upload", result, None, files)
    summary["credentials"] = {
        "LIVEKIT_API_KEY": CLOUD_API_KEY,
        "LIVEKIT_API_SECRET": CLOUD_API_SECRET,
        "LIVEKIT_OBSERVABILITY_URL": "http://127.0.0.1:<ephemeral port>",
    }
    summary["requests"] = [
        {"file": r["file"], "path": r["path"], "phase": r["phase"], "body_bytes": r["body_bytes"]} for r in index
    ]
    summary["endpoints"] = dict(sorted(Counter(r["path"] for r in index).items()))
    summary["jwt"] = next((r["jwt"] for r in index if "jwt" in r), None)
    otlp = [r["otlp"] for r in index if "otlp" in r]
    summary["trace_ids"] = sorted({t for o in otlp if o["signal"] == "traces" for t in o["trace_ids"]})
    summary["spans"] = sorted(n for o in otlp if o["signal"] == "traces" for n in o["span_names"])
    summary["log_records"] = [
        {"scope": rec["scope"], "body": rec["body"], "severity": rec["severity"]}
        for o in otlp
        if o["signal"] == "logs"
        for rec in o["records"]
    ]
    summary["recording_parts"] = [
        {k: v for k, v in part.items() if k != "decoded"} for r in index for part in r.get("multipart_parts", [])
    ]
    return summary


def cloud_live(out_dir: Path) -> dict[str, Any]:
    """Not a fixture: a Cloud-mode job sent to a live server (tests/api/test_livekit_runtime.py).
    The caller sets LIVEKIT_OBSERVABILITY_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET;
    LKD_SCENARIO names the job (job id AJ_<name>), LKD_TURNS the scripted turns (comma-separated
    keys of VOICE_TURNS), LKD_RECORD the recording options as JSON (default true), and
    LKD_SIMULATION_RUN makes it a simulation's job. Writes session_usage.json, session_report.json
    and the summary."""
    name = os.environ.get("LKD_SCENARIO", "cloud_live")
    turns = os.environ.get("LKD_TURNS", "hello,weather").split(",")
    record = json.loads(os.environ.get("LKD_RECORD", "true"))
    result = _cloud_session(name, turns, record=record, simulation_run=os.environ.get("LKD_SIMULATION_RUN") or None)
    _write_ground_truth(out_dir, result)
    return _base_summary(name, result, None, {})


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
    _json(out_dir / "summary.json", summary)
    print(json.dumps({k: summary[k] for k in ("scenario", "job_id", "ground_truth")}, indent=1, default=str))
