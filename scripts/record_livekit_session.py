"""Driving a real livekit-agents AgentSession offline for scripts/record_livekit.py and the tests: the
scripted caller turns and LLM answers, a fake job made to look like a worker's (optionally a
simulation's), the in-memory OpenTelemetry capture, and a voice session run turn by turn with the
fakes of scripts/record_livekit_fakes.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION_PIN = "livekit-agents==1.8.9"

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


def make_agent() -> Any:
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
def fake_job(scenario: str, *, dispatched: bool, simulation_run: str | None = None) -> Iterator[Any]:
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


async def wait_reply(session: Any, *, quiet: float = 0.8, timeout: float = 20.0) -> None:
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


async def speak_turns(session: Any, mic: Any, turns: list[VoiceTurn], after_turn: Callable[[], None] | None) -> None:
    await asyncio.sleep(0.5)
    for turn in turns:
        await mic.speak(turn.speech_seconds)
        await wait_reply(session)
        if after_turn is not None:
            after_turn()


def voice_session(turn_keys: list[str], *, tts_failure: bool) -> tuple[Any, Any, Any, list[VoiceTurn]]:
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


async def run_voice(
    ctx: Any,
    turn_keys: list[str],
    *,
    tts_failure: bool = False,
    record: bool | None = None,
    after_turn: Callable[[], None] | None = None,
    before_close: Callable[[], None] | None = None,
    end_of_job: Callable[[], Awaitable[None]] | None = None,
) -> SessionResult:
    session, mic, fakes, turns = voice_session(turn_keys, tts_failure=tts_failure)
    if record is None:
        await session.start(make_agent())
    else:
        await session.start(make_agent(), record=record)
    await speak_turns(session, mic, turns, after_turn)
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
    return session_result(ctx, session, fakes)


def session_result(ctx: Any, session: Any, fakes: dict[str, Any]) -> SessionResult:
    usage = [u.model_dump() for u in session.usage.model_usage]
    report = ctx.make_session_report(session).to_dict() if ctx is not None else None
    ids = (
        {"job_id": ctx.job.id, "room_id": ctx.job.room.sid, "room": ctx.job.room.name, "agent_name": ctx.job.agent_name}
        if ctx is not None
        else {"job_id": None, "room_id": None, "room": None, "agent_name": None}
    )
    history = session.history.to_dict(exclude_timestamp=False)
    return SessionResult(usage=usage, report=report, history=history, fakes=fakes, ids=ids)
