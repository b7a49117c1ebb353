"""Requests: the provider-request spans of one agent turn (pipeline LLM + TTS, or a realtime model)."""

from __future__ import annotations

import json

from livekit_dashboard.demo.records import NS as _S
from livekit_dashboard.demo.records import Builder, SpanSpec
from livekit_dashboard.demo.script import Line

__all__ = ["llm_request", "pipeline", "realtime"]


def llm_request(b: Builder, parent: SpanSpec, t: int, follow_up: bool) -> tuple[bool, int, int]:
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


def _tool_call(b: Builder, turn_span: SpanSpec, start: int, line: Line) -> tuple[int, str]:
    """The function_tool span of a reply's tool call; returns its end and what the agent then says (an
    apology when the tool failed)."""
    rng = b.rng
    tool = line.tool
    tool_end = start + int(rng.uniform(0.05, 0.9) * _S)
    span = b.add(
        "function_tool",
        turn_span.span_id,
        start,
        tool_end,
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": f"call_{rng.getrandbits(48):012x}",
            "lk.function_tool.name": tool,
            "lk.function_tool.is_error": False,
            **line.tool_attributes(),
        },
    )
    if rng.random() < 0.1:  # ToolError: status stays UNSET, flagged by attributes; the output is its text
        error = f"{tool} is unavailable, try again later"
        del span.attributes["gen_ai.tool.call.result"]  # (a result only on success)
        span.attributes.update(
            {"lk.function_tool.is_error": True, "error.type": "tool_error", "lk.pii.function_tool.output": error}
        )
        b.log(tool_end, "WARN", "ToolError while executing tool", span, function=tool, **{"lk.pii.error": error})
        return tool_end, "Sorry, I can't get to that right now. Could you try again in a few minutes?"
    return tool_end, line.agent


def pipeline(b: Builder, turn_span: SpanSpec, t: int, line: Line) -> tuple[bool, int | None, int]:
    rng, call = b.rng, b.call
    ok, first_token, end = llm_request(b, turn_span, t, follow_up=False)
    if not ok:
        return False, end, end
    text = line.agent
    if line.tool:  # a tool call, then a follow-up LLM step
        tool_end, text = _tool_call(b, turn_span, end, line)
        ok, first_token, end = llm_request(b, turn_span, tool_end, follow_up=True)
        if not ok:
            return False, end, end
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
        return True, None, tts_end  # nothing was played: no first audio
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


def realtime(b: Builder, turn_span: SpanSpec, t: int, line: Line) -> tuple[bool, int, int]:
    """A speech-to-speech reply: one generation spoken, or, when the reply calls a tool, a generation
    that calls it, the tool, and a spoken generation with its result. The framework records the words
    (the model's transcript) and the calls on the turn."""
    text = line.agent
    if line.tool:
        calls = [{"name": line.tool, "arguments": json.dumps(line.arguments, separators=(",", ":"))}]
        turn_span.attributes["lk.pii.response.function_calls"] = json.dumps(calls, separators=(",", ":"))
        _, called = _generation(b, turn_span, t, spoken=False)
        t, text = _tool_call(b, turn_span, called, line)
    first_audio, end = _generation(b, turn_span, t, spoken=True)
    turn_span.attributes["lk.pii.response.text"] = text
    return True, first_audio, end


def _generation(b: Builder, turn_span: SpanSpec, t: int, spoken: bool) -> tuple[int, int]:
    """One realtime_inference span (and the agent speaking, when spoken); returns first audio and end."""
    rng, call = b.rng, b.call
    model = call.llm
    assert model is not None
    ttft = round(model.ttft_s * rng.uniform(0.7, 1.6), 4)
    audio_in, text_in = rng.randint(80, 600), rng.randint(300, 900)
    cached_audio, cached_text = (audio_in // 2, text_in // 2) if rng.random() < 0.5 else (0, 0)
    audio_out, text_out = (rng.randint(60, 400), rng.randint(15, 80)) if spoken else (0, rng.randint(12, 30))
    duration = round(ttft + (audio_out if spoken else text_out) / 50, 4)
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
    if spoken:
        b.add("agent_speaking", turn_span.span_id, first_audio, end, {})
    return first_audio, end
