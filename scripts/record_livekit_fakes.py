"""Offline stand-ins for the providers and media I/O of a livekit-agents 1.8.x session.

Every class subclasses the framework's own base class (llm.LLM, tts.TTS, stt.STT, vad.VAD,
llm.RealtimeModel, io.AudioInput, io.AudioOutput), so the framework's own code paths open the
spans, record the metrics and count the usage; only the network is replaced. Used by
scripts/record_livekit_scenarios.py (see scripts/record_livekit.py for the command line).

Audio is synthetic and deterministic: the "microphone" plays a 220 Hz tone while the scripted
user speaks and digital silence otherwise, paced in real time; the fake VAD and the fake
streaming STT segment speech by frame energy, so turn boundaries come from the audio itself.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livekit import rtc
from livekit.agents import APIConnectOptions, APIStatusError, llm, stt, tts, utils, vad
from livekit.agents.metrics import RealtimeModelMetrics
from livekit.agents.metrics.base import Metadata
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr
from livekit.agents.voice import io

MIC_SAMPLE_RATE = 16000
FRAME_MS = 20
TTS_SAMPLE_RATE = 24000
TTS_SECONDS_PER_CHAR = 0.03
_TONE_AMPLITUDE = 3000
_VOICED_THRESHOLD = 500


def _tone(samples: int, rate: int, start: int, amplitude: int = _TONE_AMPLITUDE, hz: float = 220.0) -> bytes:
    out = bytearray()
    for i in range(samples):
        v = int(amplitude * math.sin(2 * math.pi * hz * (start + i) / rate))
        out += v.to_bytes(2, "little", signed=True)
    return bytes(out)


def _voiced(frame: rtc.AudioFrame) -> bool:
    data = frame.data
    return any(abs(data[i]) > _VOICED_THRESHOLD for i in range(0, len(data), 7))


# --------------------------------------------------------------------------------------------
# pipeline LLM


@dataclass
class LLMStep:
    """One scripted completion: text, or a tool call, or a failure; with its token usage."""

    text: str = ""
    tool_call: tuple[str, str] | None = None  # (name, json arguments)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    fail: APIStatusError | None = None


class ScriptedLLM(llm.LLM):
    """Answers by keyword of the last user message; a tool result gets the follow-up step."""

    def __init__(self, steps: dict[str, list[LLMStep]], default: LLMStep) -> None:
        super().__init__()
        self.steps = steps
        self.default = default
        self.calls = 0
        self.log: list[dict[str, Any]] = []

    @property
    def model(self) -> str:
        return "gpt-4o-mini"

    @property
    def provider(self) -> str:
        return "api.openai.com"

    def next_step(self, chat_ctx: llm.ChatContext) -> LLMStep:
        self.calls += 1
        last = chat_ctx.items[-1]
        if last.type == "function_call_output":
            # the follow-up step after a tool: answer from the same script entry
            for key, steps in self.steps.items():
                if key in last.name and len(steps) > 1:
                    return steps[1]
            return self.default
        text = (getattr(last, "text_content", None) or "").lower()
        for key, steps in self.steps.items():
            if key in text:
                return steps[0]
        return self.default

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Any] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **_: Any,
    ) -> llm.LLMStream:
        return _ScriptedStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _ScriptedStream(llm.LLMStream):
    async def _run(self) -> None:
        fake: ScriptedLLM = self._llm  # type: ignore[assignment]
        step = fake.next_step(self._chat_ctx)
        await asyncio.sleep(0.15)  # time to first token
        if step.fail is not None:
            fake.log.append({"call": fake.calls, "error": step.fail.status_code})
            raise step.fail
        rid = f"chatcmpl-rec{fake.calls:03d}"
        if step.tool_call:
            name, args = step.tool_call
            call = llm.FunctionToolCall(name=name, arguments=args, call_id=f"call_{fake.calls:03d}")
            self._event_ch.send_nowait(
                llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", tool_calls=[call]))
            )
        else:
            for word in step.text.split(" "):
                self._event_ch.send_nowait(
                    llm.ChatChunk(id=rid, delta=llm.ChoiceDelta(role="assistant", content=word + " "))
                )
                await asyncio.sleep(0.01)
        usage = llm.CompletionUsage(
            completion_tokens=step.completion_tokens,
            prompt_tokens=step.prompt_tokens,
            prompt_cached_tokens=step.cached_tokens,
            total_tokens=step.prompt_tokens + step.completion_tokens,
        )
        fake.log.append(
            {
                "call": fake.calls,
                "prompt_tokens": step.prompt_tokens,
                "completion_tokens": step.completion_tokens,
                "cached_tokens": step.cached_tokens,
                "tool_call": step.tool_call[0] if step.tool_call else None,
            }
        )
        self._event_ch.send_nowait(llm.ChatChunk(id=rid, usage=usage))


# --------------------------------------------------------------------------------------------
# TTS (non-streaming; the framework wraps it in its StreamAdapter, one request per sentence)


class FakeTTS(tts.TTS):
    def __init__(self, *, fail_on: Callable[[str], APIStatusError | None] | None = None) -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=TTS_SAMPLE_RATE, num_channels=1)
        self.fail_on = fail_on
        self.requests: list[dict[str, Any]] = []

    @property
    def model(self) -> str:
        return "sonic-2"

    @property
    def provider(self) -> str:
        return "Cartesia"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _FakeChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class _FakeChunkedStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        fake: FakeTTS = self._tts  # type: ignore[assignment]
        n = len(fake.requests) + 1
        await asyncio.sleep(0.08)  # time to first byte
        error = fake.fail_on(self.input_text) if fake.fail_on else None
        fake.requests.append({"text": self.input_text, "characters": len(self.input_text), "error": bool(error)})
        if error is not None:
            raise error
        output_emitter.initialize(
            request_id=f"tts-rec{n:03d}", sample_rate=TTS_SAMPLE_RATE, num_channels=1, mime_type="audio/pcm"
        )
        samples = int(len(self.input_text) * TTS_SECONDS_PER_CHAR * TTS_SAMPLE_RATE)
        chunk = TTS_SAMPLE_RATE // 10
        for start in range(0, samples, chunk):
            output_emitter.push(_tone(min(chunk, samples - start), TTS_SAMPLE_RATE, start, amplitude=2000, hz=330.0))
        output_emitter.flush()


# --------------------------------------------------------------------------------------------
# VAD and streaming STT, both segmenting the synthetic microphone signal by energy


class EnergyVAD(vad.VAD):
    def __init__(self, *, min_speech: float = 0.06, min_silence: float = 0.3) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=FRAME_MS / 1000))
        self.min_speech = min_speech
        self.min_silence = min_silence

    @property
    def model(self) -> str:
        return "energy-vad"

    @property
    def provider(self) -> str:
        return "recorder"

    def stream(self) -> vad.VADStream:
        return _EnergyVADStream(self)


class _EnergyVADStream(vad.VADStream):
    async def _main_task(self) -> None:
        opts: EnergyVAD = self._vad  # type: ignore[assignment]
        samples = 0
        speaking = False
        speech = silence = 0.0  # current run lengths
        speech_total = 0.0  # speech of the current segment
        pending: deque[rtc.AudioFrame] = deque(maxlen=50)
        async for item in self._input_ch:
            if isinstance(item, vad.VADStream._FlushSentinel):
                speaking, speech, silence, speech_total = False, 0.0, 0.0, 0.0
                pending.clear()
                continue
            frame = item
            samples += frame.samples_per_channel
            dur = frame.duration
            voiced = _voiced(frame)
            pending.append(frame)
            if voiced:
                speech += dur
                silence = 0.0
                if speaking:
                    speech_total += dur
            else:
                silence += dur
                if not speaking:
                    speech = 0.0
            ts = samples / frame.sample_rate
            self._event_ch.send_nowait(
                vad.VADEvent(
                    type=vad.VADEventType.INFERENCE_DONE,
                    samples_index=samples,
                    timestamp=ts,
                    speech_duration=speech_total,
                    silence_duration=silence,
                    frames=[frame],
                    probability=0.97 if voiced else 0.02,
                    inference_duration=0.001,
                    speaking=speaking,
                    raw_accumulated_silence=silence,
                    raw_accumulated_speech=speech if voiced else 0.0,
                )
            )
            if not speaking and voiced and speech >= opts.min_speech:
                speaking = True
                speech_total = speech
                self._event_ch.send_nowait(
                    vad.VADEvent(
                        type=vad.VADEventType.START_OF_SPEECH,
                        samples_index=samples,
                        timestamp=ts,
                        speech_duration=speech_total,
                        silence_duration=0.0,
                        frames=list(pending),
                        speaking=True,
                    )
                )
            elif speaking and silence >= opts.min_silence:
                speaking = False
                self._event_ch.send_nowait(
                    vad.VADEvent(
                        type=vad.VADEventType.END_OF_SPEECH,
                        samples_index=samples,
                        timestamp=ts,
                        speech_duration=speech_total,
                        silence_duration=silence,
                        frames=list(pending),
                        speaking=False,
                    )
                )
                speech_total = speech = 0.0


class ScriptedSTT(stt.STT):
    """Streaming STT: each voiced segment of the microphone becomes the next scripted transcript.

    Usage is reported like streaming providers do: a RECOGNITION_USAGE event after every final
    transcript, covering all audio received since the previous one (silence included)."""

    def __init__(self, transcripts: list[str], *, end_silence: float = 0.15) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=True))
        self.transcripts = deque(transcripts)
        self.end_silence = end_silence
        self.usage_reported: list[float] = []

    @property
    def model(self) -> str:
        return "nova-3"

    @property
    def provider(self) -> str:
        return "Deepgram"

    async def _recognize_impl(
        self, buffer: Any, *, language: NotGivenOr[str] = NOT_GIVEN, conn_options: APIConnectOptions
    ) -> stt.SpeechEvent:
        raise NotImplementedError

    def stream(
        self, *, language: NotGivenOr[str] = NOT_GIVEN, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> stt.RecognizeStream:
        return _ScriptedRecognizeStream(stt=self, conn_options=conn_options)


class _ScriptedRecognizeStream(stt.RecognizeStream):
    async def _run(self) -> None:
        fake: ScriptedSTT = self._stt  # type: ignore[assignment]
        pos = 0.0  # seconds of audio received on this stream
        unreported = 0.0
        in_speech = False
        seg_start = seg_end = 0.0
        silence = 0.0
        interim_sent = False
        n = 0
        async for item in self._input_ch:
            if isinstance(item, stt.RecognizeStream._FlushSentinel):
                continue
            dur = item.duration
            voiced = _voiced(item)
            pos += dur
            unreported += dur
            if voiced:
                if not in_speech:
                    in_speech, seg_start, interim_sent = True, pos - dur, False
                    self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH))
                seg_end = pos
                silence = 0.0
                text = fake.transcripts[0] if fake.transcripts else ""
                if not interim_sent and pos - seg_start >= 0.4 and text:
                    interim_sent = True
                    words = text.split(" ")
                    partial = " ".join(words[: max(1, len(words) // 2)])
                    self._event_ch.send_nowait(
                        stt.SpeechEvent(
                            type=stt.SpeechEventType.INTERIM_TRANSCRIPT,
                            alternatives=[stt.SpeechData(language="en", text=partial, confidence=0.71)],
                        )
                    )
            elif in_speech:
                silence += dur
                if silence >= fake.end_silence:
                    in_speech = False
                    n += 1
                    text = fake.transcripts.popleft() if fake.transcripts else ""
                    rid = f"dg-rec{n:03d}"
                    self._event_ch.send_nowait(
                        stt.SpeechEvent(
                            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
                            request_id=rid,
                            alternatives=[
                                stt.SpeechData(
                                    language="en",
                                    text=text,
                                    start_time=seg_start + self.start_time_offset,
                                    end_time=seg_end + self.start_time_offset,
                                    confidence=0.93,
                                )
                            ],
                        )
                    )
                    self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH, request_id=rid))
                    usage = round(unreported, 3)
                    fake.usage_reported.append(usage)
                    self._event_ch.send_nowait(
                        stt.SpeechEvent(
                            type=stt.SpeechEventType.RECOGNITION_USAGE,
                            request_id=rid,
                            recognition_usage=stt.RecognitionUsage(audio_duration=usage),
                        )
                    )
                    unreported = 0.0


# --------------------------------------------------------------------------------------------
# media I/O


class ScriptedMicrophone(io.AudioInput):
    """A microphone paced in real time: silence, or the tone while `speak()` is in progress."""

    def __init__(self) -> None:
        super().__init__(label="ScriptedMicrophone")
        self._t0: float | None = None
        self._frames = 0
        self._speak_left = 0
        self._speak_done: asyncio.Future[None] | None = None
        self._closed = False
        self._phase = 0

    def speak(self, seconds: float) -> asyncio.Future[None]:
        self._speak_left = int(seconds * 1000 / FRAME_MS)
        self._speak_done = asyncio.get_running_loop().create_future()
        return self._speak_done

    def close(self) -> None:
        self._closed = True

    async def __anext__(self) -> rtc.AudioFrame:
        if self._closed:
            raise StopAsyncIteration
        if self._t0 is None:
            self._t0 = time.monotonic()
        self._frames += 1
        delay = self._t0 + self._frames * FRAME_MS / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n = MIC_SAMPLE_RATE * FRAME_MS // 1000
        if self._speak_left > 0:
            data = _tone(n, MIC_SAMPLE_RATE, self._phase)
            self._phase += n
            self._speak_left -= 1
            if self._speak_left == 0 and self._speak_done and not self._speak_done.done():
                self._speak_done.set_result(None)
        else:
            data = bytes(2 * n)
        return rtc.AudioFrame(data=data, sample_rate=MIC_SAMPLE_RATE, num_channels=1, samples_per_channel=n)


class RealtimeSpeaker(io.AudioOutput):
    """Plays captured frames on a simulated real-time clock and reports playback events."""

    def __init__(self) -> None:
        # pausable like the framework's room audio output (false-interruption resume needs it)
        super().__init__(label="RealtimeSpeaker", capabilities=io.AudioOutputCapabilities(pause=True))
        self._started_at: float | None = None
        self._pushed = 0.0
        self._finish_task: asyncio.Task[None] | None = None
        self._paused_at: float | None = None

    def pause(self) -> None:
        self._paused_at = self._paused_at or time.time()

    def resume(self) -> None:
        if self._paused_at is not None and self._started_at is not None:
            self._started_at += time.time() - self._paused_at
        self._paused_at = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._started_at is None:
            self._started_at = time.time()
            self.on_playback_started(created_at=self._started_at)
        self._pushed += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._started_at is None:
            return
        started, pushed = self._started_at, self._pushed
        self._started_at, self._pushed = None, 0.0

        async def _finish() -> None:
            await asyncio.sleep(max(0.0, started + pushed - time.time()))
            self.on_playback_finished(playback_position=pushed, interrupted=False)

        self._finish_task = asyncio.create_task(_finish())

    def clear_buffer(self) -> None:
        if self._started_at is None:
            return
        position = min(time.time() - self._started_at, self._pushed)
        self._started_at, self._pushed = None, 0.0
        self.on_playback_finished(playback_position=position, interrupted=True)


# --------------------------------------------------------------------------------------------
# realtime (speech-to-speech) model


@dataclass
class RealtimeReply:
    """One scripted realtime response.

    metrics: "on_span" (usage reported while the generation is open, with its response id),
    "late" (usage reported after the turn ended), "unmatched" (the plugin gives the generation
    no response id, so the usage cannot be matched to a span), "none" (no usage at all)."""

    text: str = ""
    tool_call: tuple[str, str] | None = None
    fail: str | None = None
    metrics: str = "on_span"
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    cached_text_tokens: int = 0
    cached_audio_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0


class FakeRealtimeModel(llm.RealtimeModel):
    def __init__(self, replies: list[RealtimeReply]) -> None:
        super().__init__(
            capabilities=llm.RealtimeCapabilities(
                message_truncation=False,
                turn_detection=False,
                user_transcription=False,
                auto_tool_reply_generation=False,
                audio_output=True,
                manual_function_calls=True,
            )
        )
        self.replies = deque(replies)
        self.sessions: list[FakeRealtimeSession] = []
        self.log: list[dict[str, Any]] = []

    @property
    def model(self) -> str:
        return "gpt-realtime"

    @property
    def provider(self) -> str:
        return "openai"

    def session(self, *, turn_detection_disabled: bool = False) -> llm.RealtimeSession:
        s = FakeRealtimeSession(self)
        self.sessions.append(s)
        return s

    async def aclose(self) -> None:
        return None


class FakeRealtimeSession(llm.RealtimeSession):
    def __init__(self, model: FakeRealtimeModel) -> None:
        super().__init__(model)
        self._model = model
        self._chat_ctx = llm.ChatContext.empty()
        self._tools = llm.ToolContext.empty()
        self._n = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def chat_ctx(self) -> llm.ChatContext:
        return self._chat_ctx.copy()

    @property
    def tools(self) -> llm.ToolContext:
        return self._tools.copy()

    async def update_instructions(self, instructions: str) -> None:
        return None

    async def update_chat_ctx(self, chat_ctx: llm.ChatContext) -> None:
        self._chat_ctx = chat_ctx.copy()

    async def update_tools(self, tools: list[llm.Tool]) -> None:
        self._tools = llm.ToolContext(tools)

    def update_options(self, *, tool_choice: NotGivenOr[llm.ToolChoice | None] = NOT_GIVEN) -> None:
        return None

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        return None

    def push_video(self, frame: rtc.VideoFrame) -> None:
        return None

    def commit_audio(self) -> None:
        return None

    def clear_audio(self) -> None:
        return None

    def interrupt(self) -> None:
        return None

    def truncate(
        self, *, message_id: str, modalities: list[Any], audio_end_ms: int, audio_transcript: Any = NOT_GIVEN
    ) -> None:
        return None

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()

    def generate_reply(
        self,
        *,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        tools: NotGivenOr[list[llm.Tool]] = NOT_GIVEN,
    ) -> asyncio.Future[llm.GenerationCreatedEvent]:
        fut: asyncio.Future[llm.GenerationCreatedEvent] = asyncio.get_running_loop().create_future()
        reply = self._model.replies.popleft() if self._model.replies else RealtimeReply(text="Okay.")
        self._n += 1
        task = asyncio.create_task(self._respond(fut, reply, f"resp_rec{self._n:03d}"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return fut

    async def _respond(self, fut: asyncio.Future[llm.GenerationCreatedEvent], reply: RealtimeReply, rid: str) -> None:
        await asyncio.sleep(0.05)
        if reply.fail is not None:
            # what the OpenAI plugin does on a server `error` event for a pending response
            error = APIStatusError(reply.fail, status_code=429, retryable=True)
            self.emit(
                "error",
                llm.RealtimeModelError(timestamp=time.time(), label=self._model.label, error=error, recoverable=True),
            )
            fut.set_exception(llm.RealtimeError(reply.fail))
            self._model.log.append({"response_id": rid, "failed": reply.fail})
            return
        created = time.time()
        text_ch = utils.aio.Chan[str]()
        audio_ch = utils.aio.Chan[rtc.AudioFrame]()
        fnc_ch = utils.aio.Chan[llm.FunctionCall]()
        msg_ch = utils.aio.Chan[llm.MessageGeneration]()
        modalities: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        modalities.set_result(["audio", "text"])
        fut.set_result(
            llm.GenerationCreatedEvent(
                message_stream=msg_ch,
                function_stream=fnc_ch,
                user_initiated=True,
                response_id=None if reply.metrics == "unmatched" else rid,
            )
        )
        ttft = 0.0
        if reply.tool_call:
            name, args = reply.tool_call
            await asyncio.sleep(0.1)
            ttft = time.time() - created
            fnc_ch.send_nowait(llm.FunctionCall(call_id=f"call_{rid}", name=name, arguments=args))
        else:
            msg_ch.send_nowait(
                llm.MessageGeneration(
                    message_id=f"item_{rid}", text_stream=text_ch, audio_stream=audio_ch, modalities=modalities
                )
            )
            await asyncio.sleep(0.1)
            ttft = time.time() - created
            samples = int(len(reply.text) * TTS_SECONDS_PER_CHAR * TTS_SAMPLE_RATE)
            chunk = TTS_SAMPLE_RATE // 10
            words = reply.text.split(" ")
            for i, start in enumerate(range(0, samples, chunk)):
                if i < len(words):
                    text_ch.send_nowait(words[i] + (" " if i < len(words) - 1 else ""))
                data = _tone(min(chunk, samples - start), TTS_SAMPLE_RATE, start, amplitude=2000, hz=330.0)
                audio_ch.send_nowait(
                    rtc.AudioFrame(
                        data=data, sample_rate=TTS_SAMPLE_RATE, num_channels=1, samples_per_channel=len(data) // 2
                    )
                )
                await asyncio.sleep(0.005)
            for w in words[len(range(0, samples, chunk)) :]:
                text_ch.send_nowait(" " + w)
        duration = time.time() - created
        metrics = RealtimeModelMetrics(
            request_id=rid,
            timestamp=created,
            duration=duration,
            ttft=ttft,
            cancelled=False,
            label=self._model.label,
            input_tokens=reply.input_text_tokens + reply.input_audio_tokens,
            output_tokens=reply.output_text_tokens + reply.output_audio_tokens,
            total_tokens=reply.input_text_tokens
            + reply.input_audio_tokens
            + reply.output_text_tokens
            + reply.output_audio_tokens,
            tokens_per_second=(reply.output_text_tokens + reply.output_audio_tokens) / duration,
            input_token_details=RealtimeModelMetrics.InputTokenDetails(
                audio_tokens=reply.input_audio_tokens,
                text_tokens=reply.input_text_tokens,
                image_tokens=0,
                cached_tokens=reply.cached_text_tokens + reply.cached_audio_tokens,
                cached_tokens_details=RealtimeModelMetrics.CachedTokenDetails(
                    audio_tokens=reply.cached_audio_tokens, text_tokens=reply.cached_text_tokens, image_tokens=0
                ),
            ),
            output_token_details=RealtimeModelMetrics.OutputTokenDetails(
                text_tokens=reply.output_text_tokens, audio_tokens=reply.output_audio_tokens, image_tokens=0
            ),
            metadata=Metadata(model_name=self._model.model, model_provider=self._model.provider),
        )
        if reply.metrics in ("on_span", "unmatched"):
            self.emit("metrics_collected", metrics)
        for ch in (text_ch, audio_ch, fnc_ch, msg_ch):
            ch.close()
        self._model.log.append(
            {
                "response_id": rid,
                "metrics": reply.metrics,
                "tool_call": reply.tool_call[0] if reply.tool_call else None,
                "input_tokens": metrics.input_tokens,
                "output_tokens": metrics.output_tokens,
                "input_text_tokens": reply.input_text_tokens,
                "input_audio_tokens": reply.input_audio_tokens,
                "cached_tokens": reply.cached_text_tokens + reply.cached_audio_tokens,
                "output_text_tokens": reply.output_text_tokens,
                "output_audio_tokens": reply.output_audio_tokens,
            }
        )
        if reply.metrics == "late":
            # usage that arrives after the framework closed the turn (response.done after playout)
            await asyncio.sleep(2.5)
            self.emit("metrics_collected", metrics)
