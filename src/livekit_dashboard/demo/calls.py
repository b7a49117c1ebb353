"""Calls: one simulated voice-agent call as the spans, logs and usage livekit-agents 1.8 emits.

Shapes, names and attribute keys follow what a real AgentSession exports (job_entrypoint ->
agent_session -> user_turn / agent_turn -> llm_node -> llm_request -> llm_request_run, tts_node ->
tts_request -> tts_request_run, realtime_inference, function_tool), including the lk.*_metrics JSON
blobs, retries, tool errors and failures with exception events.
"""

from __future__ import annotations

import json
import random
from typing import Any

from livekit_dashboard.demo.catalog import LLMS, REALTIME, STTS, TTSS, Service
from livekit_dashboard.demo.records import NS as _S
from livekit_dashboard.demo.records import Builder, CallRecord, LogSpec, SpanSpec
from livekit_dashboard.demo.requests import pipeline, realtime
from livekit_dashboard.demo.script import Conversation, Line, conversation

__all__ = ["CallRecord", "LogSpec", "SpanSpec", "build_call"]


def build_call(rng: random.Random, service: Service, start_ns: int, trace_id: int, index: int) -> CallRecord:
    """Simulate one call starting at start_ns; deterministic for a given rng state."""
    room_sid = f"RM_{rng.getrandbits(48):012X}"
    call = CallRecord(service, trace_id, start_ns, start_ns, room_sid, f"AJ_{rng.getrandbits(48):012X}")
    b = Builder(rng, call)
    said = conversation(index)
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
            # the caller, as an integration tags it (docs/usage.md: the user of a call)
            **({"user.email": said.email} if said.email else {}),
        },
    )
    t = session_start
    b.add("session_start", session.span_id, t, t + rng.randint(5, 40) * 1_000_000, {})
    b.log(t, "INFO", "agent session started", session, room=f"call-{index:05d}")
    t += rng.randint(300, 1500) * 1_000_000
    errors = exchanges = 0
    for turn in range(turns):
        t, failed = _turn(b, session, t, said.line(turn, turns))
        errors, exchanges = errors + failed, exchanges + 1
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
    _evaluate(b, close.end_ns, errors, said, finished=exchanges >= len(said.lines))
    session.end_ns = close.end_ns
    call.end_ns = close.end_ns + (rng.randint(20, 200) * 1_000_000 if with_job else 0)
    if job is not None:
        job.end_ns = call.end_ns
    return call


def _evaluate(b: Builder, t: int, errors: int, said: Conversation, finished: bool) -> None:
    """What livekit-agents' evaluations logger records at session end when the agent tags the call
    (ctx.tagger) and LLM judges grade it: most calls get an outcome, some a topic tag and a verdict; the
    topic and the outcome's reason are the conversation's own; a call succeeded when it went through its
    script with every reply and tool working, and one that ended before its script did failed."""
    rng = b.rng
    if rng.random() < 0.2:
        return
    # the call reached its goal when every reply came and every tool worked (a tool error makes the agent
    # apologise instead of answering): the outcome never contradicts the transcript
    tool_failed = any(s.attributes.get("lk.function_tool.is_error") is True for s in b.call.spans)
    outcome = "success" if finished and errors == 0 and not tool_failed else "fail"

    def record(body: str, key: str, value: dict[str, Any], severity: str = "INFO") -> None:
        attrs = {key: json.dumps(value, separators=(",", ":")), "lk.agent_name": b.call.service.agent_name}
        b.call.logs.append(LogSpec(t, severity, body, None, attrs, logger="evaluations"))

    if rng.random() < 0.5:
        record("tag", "tag", {"name": f"topic:{said.topic}", "metadata": {}})
    if rng.random() < 0.4:
        verdict = "pass" if (outcome == "success") == (rng.random() < 0.9) else "fail"
        record("evaluation", "evaluation", {"name": "task_completion", "tag": "", "verdict": verdict, "reasoning": ""})
    # a failed outcome is logged at ERROR, as the framework does
    reason = said.done if outcome == "success" else (said.failed if finished else "the call ended early")
    record("outcome", "outcome", {"outcome": outcome, "reason": reason}, "ERROR" if outcome == "fail" else "INFO")


def _turn(b: Builder, session: SpanSpec, t: int, line: Line) -> tuple[int, int]:
    rng, call = b.rng, b.call
    user_text = line.user
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
    return _agent_turn(b, session, t, transcription_delay, eou_delay, line)


def _agent_turn(
    b: Builder, session: SpanSpec, t: int, transcription_delay: float, eou_delay: float, line: Line
) -> tuple[int, int]:
    rng, call = b.rng, b.call
    assert call.llm is not None
    interrupted = rng.random() < 0.08
    if rng.random() < 0.004:  # the framework's mixed-clock bug (livekit/agents#3591): flagged, not averaged
        transcription_delay = round(rng.uniform(60, 90), 4)
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
            "lk.interrupted": interrupted,
            "lk.transcription_delay": transcription_delay,
            "lk.end_of_turn_delay": eou_delay,
            "lk.on_user_turn_completed_delay": round(rng.uniform(0.0002, 0.02), 5),
            "lk.speech.queue_wait": round(rng.uniform(0.0001, 0.002), 5),
            "lk.pii.user_input": line.user,
        },
    )
    first_span = len(call.spans)
    first_audio: int | None
    if call.realtime:
        ok, first_audio, end = realtime(b, turn_span, t, line)
    else:
        ok, first_audio, end = pipeline(b, turn_span, t, line)
    if ok and first_audio is not None:  # the framework measures a response latency only on a reply played
        e2e = round((first_audio - t) / _S + eou_delay, 4)
        turn_span.attributes["lk.e2e_latency"] = e2e
        call.e2e_latencies_s.append(e2e)
    turn_span.end_ns = end
    said = [x.attributes["lk.pii.input_text"] for x in call.spans[first_span:] if "lk.pii.input_text" in x.attributes]
    if said:
        turn_span.attributes["lk.pii.response.text"] = said[-1]
    if interrupted and ok and first_audio is not None:  # the caller spoke over the reply: part was played
        turn_span.attributes["lk.interruption.source"] = rng.choice(("audio_activity", "audio_activity", "user_turn"))
        turn_span.attributes["lk.playout.position"] = round((end - first_audio) / _S * rng.uniform(0.2, 0.8), 3)
    if not ok:
        b.fail(turn_span, "429", "livekit.agents._exceptions.APIStatusError", "Rate limit reached for requests")
        b.log(end, "ERROR", "Error in _llm_inference_task", turn_span, **{"exception.type": "APIStatusError"})
    gap = rng.randint(400, 4000) * 1_000_000
    return end + gap, 0 if ok else 1
