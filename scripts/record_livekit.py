"""Record real livekit-agents telemetry offline, as the OTLP request bodies its exporters send.

Runs an AgentSession (livekit-agents 1.8.x) inside `livekit.agents.testing.fake_job_context()` with
fake LLM and TTS providers built on the framework's own base classes, and captures the OTLP/protobuf
ExportTrace/Logs/MetricsServiceRequest bodies the real OpenTelemetry encoders produce. The tests
replay these bodies; re-record with:

    python -m venv /tmp/lk && /tmp/lk/bin/pip install 'livekit-agents==1.8.9'
    /tmp/lk/bin/python scripts/record_livekit.py tests/fixtures/livekit

More scenarios (scripts/record_livekit_scenarios.py; sessions driven by record_livekit_session.py with
the fakes of record_livekit_fakes.py), each recorded into its own subdirectory, one process per scenario:

    /tmp/lk/bin/python scripts/record_livekit.py --scenario realtime_tools tests/fixtures/livekit/realtime_tools
    /tmp/lk/bin/python scripts/record_livekit.py --scenario all   # every scenario below tests/fixtures/livekit/

Scenarios: pipeline_audio, realtime_tools, no_pii, no_job_context, delta_metrics, cloud_upload
(tests/fixtures/livekit/README.md describes them). Without --scenario, the original text-input
session above is recorded ("basic", the top-level fixtures). `--scenario cloud_live` records no
fixture: it sends a Cloud-mode job to the server LIVEKIT_OBSERVABILITY_URL names (the tests'
tests/api/test_livekit_runtime.py runs it against a live server).

Not part of the package. The tests install livekit-agents too (the `agent` extra) and run the
`cloud_live` scenario; recording the fixtures stays a manual step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from livekit.agents import Agent, AgentSession, APIConnectOptions, APIStatusError, function_tool, llm
from livekit.agents.telemetry import set_tracer_provider
from livekit.agents.testing import fake_job_context
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS
from opentelemetry import metrics
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

PROMPT_TOKENS, COMPLETION_TOKENS, CACHED_TOKENS = 812, 23, 512


class FakeLLM(llm.LLM):
    """Answers with text (and one tool call when asked for the weather); fails its very first attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    @property
    def model(self) -> str:
        return "gpt-4o-mini"

    @property
    def provider(self) -> str:
        return "api.openai.com"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Any] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **_: Any,
    ) -> llm.LLMStream:
        return _FakeStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _FakeStream(llm.LLMStream):
    async def _run(self) -> None:
        fake: FakeLLM = self._llm  # type: ignore[assignment]
        fake.calls += 1
        if fake.calls == 1:
            raise APIStatusError("Rate limit reached for requests", status_code=429, retryable=True)
        last = self._chat_ctx.items[-1]
        wants_tool = getattr(last, "role", "") == "user" and "weather" in (last.text_content or "")
        if wants_tool:
            call = llm.FunctionToolCall(name="get_weather", arguments='{"city": "Paris"}', call_id="call_1")
            self._event_ch.send_nowait(
                llm.ChatChunk(id="c1", delta=llm.ChoiceDelta(role="assistant", tool_calls=[call]))
            )
        else:
            for word in ("Sure, ", "here ", "you ", "go."):
                self._event_ch.send_nowait(
                    llm.ChatChunk(id="c1", delta=llm.ChoiceDelta(role="assistant", content=word))
                )
                await asyncio.sleep(0.01)
        usage = llm.CompletionUsage(
            completion_tokens=COMPLETION_TOKENS,
            prompt_tokens=PROMPT_TOKENS,
            prompt_cached_tokens=CACHED_TOKENS,
            total_tokens=PROMPT_TOKENS + COMPLETION_TOKENS,
        )
        self._event_ch.send_nowait(llm.ChatChunk(id="c1", usage=usage))


class Assistant(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a helpful voice assistant.")

    @function_tool
    async def get_weather(self, city: str) -> str:
        """Look up the weather in a city."""
        return f"It is sunny in {city}."


async def _run_session(ctx: Any, out_dir: Path) -> None:
    session: AgentSession[Any] = AgentSession(llm=FakeLLM())
    await session.start(Assistant())
    for text in ("Hello there", "What is the weather in Paris?", "Thanks, bye"):
        await session.run(user_input=text)
    await session.aclose()
    # the framework's own accounting: what usage records must agree with
    usage = [u.model_dump() if hasattr(u, "model_dump") else vars(u) for u in session.usage.model_usage]
    (out_dir / "session_usage.json").write_text(json.dumps(usage, indent=1, default=str) + "\n")
    report = ctx.make_session_report(session).to_dict()
    (out_dir / "session_report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")


def main(out_dir: Path) -> None:
    resource = Resource.create({"service.name": "recorded-agent", "service.version": "0.0.1"})
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    set_tracer_provider(tracer_provider, metadata={"user.email": "alice@example.com", "assistant.id": "asst_42"})
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    logging.getLogger().setLevel(logging.INFO)

    out_dir.mkdir(parents=True, exist_ok=True)
    with fake_job_context(job_id="AJ_recorded") as ctx:
        asyncio.run(_run_session(ctx, out_dir))
    tracer_provider.force_flush()
    metrics_data = reader.get_metrics_data()
    out_dir.mkdir(parents=True, exist_ok=True)
    finished = spans.get_finished_spans()
    (out_dir / "traces.pb").write_bytes(encode_spans(finished).SerializeToString())
    (out_dir / "logs.pb").write_bytes(encode_logs(logs.get_finished_logs()).SerializeToString())
    if metrics_data is not None:
        (out_dir / "metrics.pb").write_bytes(encode_metrics(metrics_data).SerializeToString())
    summary = {
        "livekit_agents_version": __import__("livekit.agents", fromlist=["__version__"]).__version__,
        "spans": sorted(s.name for s in finished),
        "logs": len(logs.get_finished_logs()),
        "llm_requests_ok": 3 + 1,
        "prompt_tokens_per_request": PROMPT_TOKENS,
        "completion_tokens_per_request": COMPLETION_TOKENS,
        "cached_tokens_per_request": CACHED_TOKENS,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


NEW_SCENARIOS = ("pipeline_audio", "realtime_tools", "no_pii", "no_job_context", "delta_metrics", "cloud_upload")


def cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="basic", choices=("basic", "all", *NEW_SCENARIOS, "cloud_live"))
    parser.add_argument("out_dir", nargs="?", type=Path)
    args = parser.parse_args(argv)
    if args.scenario == "basic":
        main(args.out_dir or Path("tests/fixtures/livekit"))
    elif args.scenario == "all":
        # the OTel meter/logger providers are process-global and set once: one process each
        root = args.out_dir or Path("tests/fixtures/livekit")
        for name in NEW_SCENARIOS:
            subprocess.run([sys.executable, __file__, "--scenario", name, str(root / name)], check=True)
    else:
        from record_livekit_scenarios import record

        record(args.scenario, args.out_dir or Path("tests/fixtures/livekit") / args.scenario)


if __name__ == "__main__":
    cli(sys.argv[1:])
