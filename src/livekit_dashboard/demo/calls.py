"""Calls: one simulated voice-agent call as the spans, logs and usage livekit-agents 1.8 emits.

Shapes, names and attribute keys follow what a real AgentSession exports (job_entrypoint ->
agent_session -> user_turn / agent_turn -> llm_node -> llm_request -> llm_request_run, tts_node ->
tts_request -> tts_request_run, realtime_inference, function_tool), including the lk.*_metrics JSON
blobs, retries, tool errors and failures with exception events.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from livekit_dashboard.demo.catalog import LLMS, REALTIME, STTS, TTSS, Model, Service

__all__ = ["CallRecord", "LogSpec", "SpanSpec", "build_call"]

_S = 1_000_000_000
_USER_LINES = (
    "Hi, I'd like to check on my order.",
    "Can you move my appointment to Thursday?",
    "What's the price of the premium plan?",
    "I never got the confirmation email.",
    "Is there anything available tomorrow morning?",
    "Could you repeat that, please?",
    "Thanks, that's all for today.",
)
_AGENT_LINES = (
    "Sure, let me look that up for you.",
    "I've found your booking. Thursday at 10 works.",
    "The premium plan is 49 dollars a month.",
    "I've resent the confirmation to your email address.",
    "Is there anything else I can help you with?",
)
_TOOLS = ("lookup_order", "check_availability", "book_slot", "send_email")


@dataclass(slots=True)
class SpanSpec:
    name: str
    span_id: int
    parent_id: int | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    error: str = ""  # status message when the span failed
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)


@dataclass(slots=True)
class LogSpec:
    time_ns: int
    severity: str  # INFO, WARN, ERROR
    body: str
    span_id: int | None
    attributes: dict[str, Any]
    logger: str = "livekit.agents"


@dataclass(slots=True)
class CallRecord:
    service: Service
    trace_id: int
    start_ns: int
    end_ns: int
    room_sid: str
    job_id: str
    spans: list[SpanSpec] = field(default_factory=list)
    logs: list[LogSpec] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)  # counter name -> total for the call
    llm: Model | None = None
    stt: Model | None = None
    tts: Model | None = None
    realtime: bool = False
    e2e_latencies_s: list[float] = field(default_factory=list)
    llm_durations_s: list[float] = field(default_factory=list)


class _Builder:
    def __init__(self, rng: random.Random, call: CallRecord) -> None:
        self.rng = rng
        self.call = call
        self.common = {"gen_ai.conversation.id": call.room_sid}

    def span_id(self) -> int:
        return self.rng.getrandbits(64) or 1

    def add(self, name: str, parent: int | None, start: int, end: int, attrs: dict[str, Any]) -> SpanSpec:
        spec = SpanSpec(name, self.span_id(), parent, start, max(end, start + 1000), {**self.common, **attrs})
        self.call.spans.append(spec)
        return spec

    def log(self, t: int, severity: str, body: str, span: SpanSpec | None, **attrs: Any) -> None:
        self.call.logs.append(LogSpec(t, severity, body, span.span_id if span else None, attrs))

    def bump(self, key: str, value: float) -> None:
        self.call.usage[key] = self.call.usage.get(key, 0.0) + value

    def fail(self, span: SpanSpec, error_type: str, exc_type: str, message: str) -> None:
        span.error = message
        span.attributes["error.type"] = error_type
        span.events.append(
            (
                "exception",
                span.end_ns,
                {
                    "exception.type": exc_type,
                    "exception.message": message,
                    "exception.stacktrace": (f"Traceback (most recent call last):\n  ...\n{exc_type}: {message}\n"),
                    "exception.escaped": "False",
                },
            )
        )


def build_call(rng: random.Random, service: Service, start_ns: int, trace_id: int, index: int) -> CallRecord:
    """Simulate one call starting at start_ns; deterministic for a given rng state."""
    room_sid = f"RM_{rng.getrandbits(48):012X}"
    call = CallRecord(service, trace_id, start_ns, start_ns, room_sid, f"AJ_{rng.getrandbits(48):012X}")
    b = _Builder(rng, call)
    call.realtime = rng.random() < service.realtime_share
    call.llm = rng.choice(REALTIME if call.realtime else LLMS)
    call.stt = None if call.realtime else rng.choice(STTS)
    call.tts = None if call.realtime else rng.choice(TTSS)
    # a short share of calls drop after one or two turns (the "below threshold" panel)
    turns = rng.choice((1, 2)) if rng.random() < 0.12 else rng.randint(3, 12)
    with_job = rng.random() < 0.7
    root_parent: int | None = None
    session_start = start_ns
    job_attrs = {
        "lk.job_id": call.job_id,
        "lk.agent_name": service.agent_name,
        "lk.room_sid": room_sid,
        "lk.pii.room_name": f"call-{index:05d}",
        "lk.dispatch_id": f"AD_{rng.getrandbits(40):010X}",
        "lk.job.worker_id": f"AW_{rng.getrandbits(40):010X}",
    }
    job: SpanSpec | None = None
    if with_job:
        job = b.add("job_entrypoint", None, start_ns, start_ns, dict(job_attrs))
        root_parent = job.span_id
        session_start = start_ns + rng.randint(50, 400) * 1_000_000
    session = b.add(
        "agent_session",
        root_parent,
        session_start,
        session_start,
        {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": "agent_session",
            "lk.agent_label": service.agent_label,
            **job_attrs,
        },
    )
    t = session_start
    b.add("session_start", session.span_id, t, t + rng.randint(5, 40) * 1_000_000, {})
    b.log(t, "INFO", "agent session started", session, room=f"call-{index:05d}")
    t += rng.randint(300, 1500) * 1_000_000
    errors = 0
    for turn in range(turns):
        t, failed = _turn(b, session, t, turn)
        errors += failed
        if errors >= 3:
            break
    close_reason = "error" if errors >= 3 else rng.choice(("user_initiated",) * 3 + ("participant_disconnected",))
    close = b.add(
        "session_close",
        session.span_id,
        t,
        t + rng.randint(10, 80) * 1_000_000,
        {"lk.close_reason": close_reason},
    )
    b.log(close.start_ns, "INFO", f"closing agent session: {close_reason}", session)
    session.end_ns = close.end_ns
    call.end_ns = close.end_ns + (rng.randint(20, 200) * 1_000_000 if with_job else 0)
    if job is not None:
        job.end_ns = call.end_ns
    return call


def _turn(b: _Builder, session: SpanSpec, t: int, turn: int) -> tuple[int, int]:
    rng, call = b.rng, b.call
    user_text = rng.choice(_USER_LINES)
    speak_s = 0.8 + len(user_text) / 14 + rng.random()
    transcription_delay = round(rng.uniform(0.05, 0.35), 4)
    eou_delay = round(rng.uniform(0.2, 0.9), 4)
    if not call.realtime:
        assert call.stt is not None
        user = b.add(
            "user_turn",
            session.span_id,
            t,
            t + int((speak_s + eou_delay) * _S),
            {
                "gen_ai.provider.name": call.stt.provider,
                "gen_ai.request.model": call.stt.name,
                "lk.pii.user_transcript": user_text,
                "lk.transcript_confidence": round(rng.uniform(0.82, 0.99), 3),
                "lk.transcription_delay": transcription_delay,
                "lk.end_of_turn_delay": eou_delay,
            },
        )
        b.add("user_speaking", user.span_id, t, t + int(speak_s * _S), {})
        b.add("eou_wait", user.span_id, t + int(speak_s * _S), user.end_ns, {"lk.eou.outcome": "committed"})
        b.bump("lk.agents.usage.stt_audio_duration", round(speak_s, 3))
        b.log(user.end_ns, "INFO", "received user transcript", user, user_transcript=user_text)
        t = user.end_ns
    else:
        t += int(speak_s * _S)
    return _agent_turn(b, session, t, turn, transcription_delay, eou_delay)


def _agent_turn(
    b: _Builder, session: SpanSpec, t: int, turn: int, transcription_delay: float, eou_delay: float
) -> tuple[int, int]:
    rng, call = b.rng, b.call
    assert call.llm is not None
    turn_span = b.add(
        "agent_turn",
        session.span_id,
        t,
        t,
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": call.service.agent_label,
            "lk.speech_id": f"speech_{rng.getrandbits(40):010x}",
            "lk.generation_id": f"gen_{rng.getrandbits(40):010x}",
            "lk.interrupted": rng.random() < 0.08,
            "lk.transcription_delay": transcription_delay,
            "lk.end_of_turn_delay": eou_delay,
        },
    )
    if call.realtime:
        ok, first_audio, end = _realtime(b, turn_span, t)
    else:
        ok, first_audio, end = _pipeline(b, turn_span, t)
    e2e = round((first_audio - t) / _S + eou_delay, 4)
    turn_span.attributes["lk.e2e_latency"] = e2e
    call.e2e_latencies_s.append(e2e)
    turn_span.end_ns = end
    if not ok:
        b.fail(turn_span, "429", "livekit.agents._exceptions.APIStatusError", "Rate limit reached for requests")
        b.log(end, "ERROR", "Error in _llm_inference_task", turn_span, **{"exception.type": "APIStatusError"})
    gap = rng.randint(400, 4000) * 1_000_000
    return end + gap, 0 if ok else 1


def _llm_request(b: _Builder, parent: SpanSpec, t: int, follow_up: bool) -> tuple[bool, int, int]:
    """llm_node -> llm_request -> llm_request_run (one per attempt); returns ok, first token, end."""
    rng, call = b.rng, b.call
    llm = call.llm
    assert llm is not None
    node = b.add(
        "llm_node",
        parent.span_id,
        t,
        t,
        {"gen_ai.provider.name": llm.provider, "gen_ai.request.model": llm.name},
    )
    request = b.add(
        "llm_request",
        node.span_id,
        t,
        t,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": llm.provider,
            "gen_ai.request.model": llm.name,
            "gen_ai.request.stream": True,
            "gen_ai.output.type": "text",
        },
    )
    roll = rng.random()
    failed_attempts = 3 if roll > 0.988 else (1 if roll < 0.04 else 0)
    cursor = t
    for attempt in range(failed_attempts):
        run_end = cursor + int(rng.uniform(0.2, 0.6) * _S)
        run = b.add(
            "llm_request_run",
            request.span_id,
            cursor,
            run_end,
            {
                "lk.retry_count": attempt,
                "gen_ai.provider.name": llm.provider,
                "gen_ai.request.model": llm.name,
            },
        )
        b.fail(run, "429", "openai.RateLimitError", "Rate limit reached for requests")
        b.log(
            run_end,
            "WARN",
            f"failed to generate LLM completion: 429 (attempt {attempt + 1})",
            run,
            llm=llm.name,
            attempt=attempt + 1,
        )
        cursor = run_end + int(rng.uniform(0.1, 0.5) * _S)
    if failed_attempts == 3:  # retries exhausted: the request, node and turn fail
        request.end_ns = node.end_ns = cursor
        for span in (request, node):
            b.fail(span, "429", "openai.RateLimitError", "Rate limit reached for requests")
        return False, cursor, cursor
    ttft = round(llm.ttft_s * rng.uniform(0.7, 1.8), 4)
    prompt = rng.randint(400, 1200) + 180 * len(call.llm_durations_s)
    cached = (prompt // 128) * 128 if rng.random() < 0.6 and prompt > 1024 else 0
    completion = rng.randint(20, 60) if follow_up else rng.randint(12, 45)
    duration = round(ttft + completion / llm.tokens_per_s, 4)
    first_token = cursor + int(ttft * _S)
    end = cursor + int(duration * _S)
    b.add(
        "llm_request_run",
        request.span_id,
        cursor,
        end,
        {
            "lk.retry_count": failed_attempts,
            "gen_ai.provider.name": llm.provider,
            "gen_ai.request.model": llm.name,
        },
    )
    request.end_ns = node.end_ns = end
    usage = {"gen_ai.usage.input_tokens": prompt, "gen_ai.usage.output_tokens": completion}
    if cached:
        usage["gen_ai.usage.cache_read.input_tokens"] = cached
        usage["gen_ai.usage.input_cached_tokens"] = cached
    request.attributes.update(usage)
    request.attributes.update(
        {
            "gen_ai.response.model": llm.name,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.time_to_first_chunk": ttft,
            "lk.llm_metrics": json.dumps(
                {
                    "type": "llm_metrics",
                    "label": f"livekit.plugins.{llm.raw_provider}.LLM",
                    "request_id": f"chatcmpl-{rng.getrandbits(48):012x}",
                    "timestamp": end / _S,
                    "duration": duration,
                    "ttft": ttft,
                    "cancelled": False,
                    "completion_tokens": completion,
                    "prompt_tokens": prompt,
                    "prompt_cached_tokens": cached,
                    "cache_creation_tokens": 0,
                    "reasoning_tokens": 0,
                    "total_tokens": prompt + completion,
                    "tokens_per_second": round(completion / duration, 3),
                    "speech_id": None,
                    "metadata": {"model_name": llm.name, "model_provider": llm.raw_provider},
                }
            ),
        }
    )
    node.attributes["lk.response.ttft"] = ttft
    b.bump("lk.agents.usage.llm_input_tokens", prompt)
    b.bump("lk.agents.usage.llm_output_tokens", completion)
    b.bump("lk.agents.usage.llm_input_cached_tokens", cached)
    call.llm_durations_s.append(duration)
    return True, first_token, end


def _pipeline(b: _Builder, turn_span: SpanSpec, t: int) -> tuple[bool, int, int]:
    rng, call = b.rng, b.call
    ok, first_token, end = _llm_request(b, turn_span, t, follow_up=False)
    if not ok:
        return False, end, end
    if rng.random() < 0.18:  # a tool call, then a follow-up LLM step
        tool = rng.choice(_TOOLS)
        tool_end = end + int(rng.uniform(0.05, 0.9) * _S)
        span = b.add(
            "function_tool",
            turn_span.span_id,
            end,
            tool_end,
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": tool,
                "gen_ai.tool.type": "function",
                "gen_ai.tool.call.id": f"call_{rng.getrandbits(48):012x}",
                "lk.function_tool.name": tool,
                "lk.function_tool.is_error": False,
            },
        )
        if rng.random() < 0.1:  # ToolError: status stays UNSET, flagged by attributes
            span.attributes.update({"lk.function_tool.is_error": True, "error.type": "tool_error"})
            b.log(tool_end, "WARN", "ToolError while executing tool", span, function=tool)
        ok, first_token, end = _llm_request(b, turn_span, tool_end, follow_up=True)
        if not ok:
            return False, end, end
    text = rng.choice(_AGENT_LINES)
    tts = call.tts
    assert tts is not None
    ttfb = round(tts.ttft_s * rng.uniform(0.7, 2.0), 4)
    audio_s = round(len(text) / 15 + rng.uniform(0, 0.6), 3)
    tts_start = first_token
    tts_end = tts_start + int((ttfb + audio_s * 0.35) * _S)
    node = b.add(
        "tts_node",
        turn_span.span_id,
        tts_start,
        tts_end,
        {"gen_ai.provider.name": tts.provider, "gen_ai.request.model": tts.name, "lk.response.ttfb": ttfb},
    )
    request = b.add(
        "tts_request",
        node.span_id,
        tts_start,
        tts_end,
        {
            "gen_ai.provider.name": tts.provider,
            "gen_ai.request.model": tts.name,
            "lk.tts.streaming": True,
            "lk.tts.label": f"livekit.plugins.{tts.provider}.TTS",
            "lk.pii.input_text": text,
            "lk.retry_count": 0,
        },
    )
    run = b.add(
        "tts_request_run",
        request.span_id,
        tts_start,
        tts_end,
        {"lk.retry_count": 0, "gen_ai.provider.name": tts.provider, "gen_ai.request.model": tts.name},
    )
    if rng.random() < 0.01:
        for span in (run, request, node):
            b.fail(span, "402", "livekit.agents._exceptions.APIStatusError", "quota exceeded")
        b.log(tts_end, "ERROR", "Error in _tts_inference_task", node, **{"exception.type": "APIStatusError"})
        return True, tts_end, tts_end
    request.attributes["lk.tts_metrics"] = json.dumps(
        {
            "type": "tts_metrics",
            "label": f"livekit.plugins.{tts.provider}.TTS",
            "request_id": f"req_{rng.getrandbits(48):012x}",
            "timestamp": tts_end / _S,
            "ttfb": ttfb,
            "duration": round((tts_end - tts_start) / _S, 4),
            "audio_duration": audio_s,
            "cancelled": False,
            "characters_count": len(text),
            "input_tokens": 0,
            "output_tokens": 0,
            "streamed": True,
            "metadata": {"model_name": tts.name, "model_provider": tts.raw_provider},
        }
    )
    b.bump("lk.agents.usage.tts_characters", len(text))
    b.bump("lk.agents.usage.tts_audio_duration", audio_s)
    first_audio = tts_start + int(ttfb * _S)
    speak_end = first_audio + int(audio_s * _S)
    b.add("agent_speaking", turn_span.span_id, first_audio, speak_end, {})
    return True, first_audio, max(speak_end, end)


def _realtime(b: _Builder, turn_span: SpanSpec, t: int) -> tuple[bool, int, int]:
    rng, call = b.rng, b.call
    model = call.llm
    assert model is not None
    ttft = round(model.ttft_s * rng.uniform(0.7, 1.6), 4)
    audio_in, text_in = rng.randint(80, 600), rng.randint(300, 900)
    cached_audio, cached_text = (audio_in // 2, text_in // 2) if rng.random() < 0.5 else (0, 0)
    audio_out, text_out = rng.randint(60, 400), rng.randint(15, 80)
    duration = round(ttft + audio_out / 50, 4)
    end = t + int(duration * _S)
    usage = {
        "gen_ai.usage.input_tokens": audio_in + text_in,
        "gen_ai.usage.output_tokens": audio_out + text_out,
        "gen_ai.usage.cache_read.input_tokens": cached_audio + cached_text,
        "gen_ai.usage.audio.input_tokens": audio_in,
        "gen_ai.usage.text.input_tokens": text_in,
        "gen_ai.usage.audio.cache_read.input_tokens": cached_audio,
        "gen_ai.usage.text.cache_read.input_tokens": cached_text,
        "gen_ai.usage.audio.output_tokens": audio_out,
        "gen_ai.usage.text.output_tokens": text_out,
        "gen_ai.usage.input_audio_tokens": audio_in,
        "gen_ai.usage.input_text_tokens": text_in,
        "gen_ai.usage.output_audio_tokens": audio_out,
        "gen_ai.usage.output_text_tokens": text_out,
    }
    b.add(
        "realtime_inference",
        turn_span.span_id,
        t,
        end,
        {
            "gen_ai.operation.name": "generate_content",
            "gen_ai.output.type": "speech",
            "gen_ai.provider.name": model.provider,
            "gen_ai.request.model": model.name,
            "gen_ai.response.model": model.name,
            "gen_ai.response.time_to_first_chunk": ttft,
            **usage,
            "lk.realtime_model_metrics": json.dumps(
                {
                    "type": "realtime_model_metrics",
                    "label": f"livekit.plugins.{model.raw_provider}.realtime.RealtimeModel",
                    "timestamp": end / _S,
                    "duration": duration,
                    "session_duration": 0.0,
                    "ttft": ttft,
                    "cancelled": False,
                    "input_tokens": audio_in + text_in,
                    "output_tokens": audio_out + text_out,
                    "total_tokens": audio_in + text_in + audio_out + text_out,
                    "input_token_details": {
                        "audio_tokens": audio_in,
                        "text_tokens": text_in,
                        "image_tokens": 0,
                        "cached_tokens": cached_audio + cached_text,
                        "cached_tokens_details": {
                            "audio_tokens": cached_audio,
                            "text_tokens": cached_text,
                            "image_tokens": 0,
                        },
                    },
                    "output_token_details": {
                        "text_tokens": text_out,
                        "audio_tokens": audio_out,
                        "image_tokens": 0,
                    },
                    "metadata": {"model_name": model.name, "model_provider": model.raw_provider},
                }
            ),
        },
    )
    for key, value in (
        ("llm_input_tokens", audio_in + text_in),
        ("llm_output_tokens", audio_out + text_out),
        ("llm_input_cached_tokens", cached_audio + cached_text),
        ("llm_input_audio_tokens", audio_in),
        ("llm_input_text_tokens", text_in),
        ("llm_output_audio_tokens", audio_out),
        ("llm_output_text_tokens", text_out),
    ):
        b.bump(f"lk.agents.usage.{key}", value)
    call.llm_durations_s.append(duration)
    first_audio = t + int(ttft * _S)
    b.add("agent_speaking", turn_span.span_id, first_audio, end, {})
    return True, first_audio, end
