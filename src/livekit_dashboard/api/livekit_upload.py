"""The LiveKit-compatible upload routes: what livekit-agents sends when LIVEKIT_OBSERVABILITY_URL
points here (the same requests LiveKit Cloud receives), each with a LiveKit access token
(api/livekit_tokens.py).

- `POST /observability/{traces,logs,metrics}/otlp/v0`: OTLP/HTTP protobuf (gzip; DELTA metrics), the
  same ingest as /v1/*.
- `POST /observability/recordings/v0`: the session upload at the end of a call, multipart: `header`
  (livekit-protocol's MetricsRecordingHeader, whose `session_summary` is the SessionReport without its
  chat history), `chat_history` (JSON) and `audio` (ogg). The summary becomes the call's posted usage
  record, as POST /v1/usage stores it; the chat history is kept as sent (the call page merges it with
  the framework's `chat item` log records into one transcript); the audio is kept as the call's
  recording (played on its page)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from google.protobuf.message import DecodeError as ProtobufDecodeError
from livekit.protocol.metrics import MetricsRecordingHeader
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from livekit_dashboard.api.otlp import add_export_routes
from livekit_dashboard.api.services import require_livekit_upload, services
from livekit_dashboard.ingest import DecodeError, IngestUnavailableError, UsageError

__all__ = ["livekit_upload_router"]


livekit_upload_router = APIRouter(
    prefix="/observability", tags=["LiveKit-compatible upload"], dependencies=[Depends(require_livekit_upload)]
)

_RECORDING_LIMIT = 256 * 1024 * 1024  # a long call's audio


# livekit-agents' OTLP exporters: the same ingest as /v1/*
add_export_routes(livekit_upload_router, "/{signal}/otlp/v0", "livekit-agents upload")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status, headers=headers)


@livekit_upload_router.post(
    "/recordings/v0",
    summary="livekit-agents session upload (header with the session summary, chat history, audio)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {"type": "object"}}}}
    },
)
async def upload_recording(request: Request) -> JSONResponse:
    ingestor = services(request).ingestor
    if not ingestor.enabled and (refusal := ingestor.refusal()) is not None:  # before the body is read
        return _error(503, str(refusal), {"Retry-After": str(refusal.retry_after_s)})
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        return _error(415, f"unsupported content type {media or 'none'!r}: send multipart/form-data")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _RECORDING_LIMIT:
        return _error(413, f"body of {declared} bytes exceeds the limit of {_RECORDING_LIMIT} bytes")
    # a malformed body is a 400 from Starlette's parser, answered in the documented format
    form = await request.form(max_files=8, max_fields=16)
    parts: dict[str, bytes] = {}
    types: dict[str, str] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                parts[name] = await value.read()
                types[name] = (value.content_type or "").split(";")[0].strip().lower()
            else:
                parts[name] = str(value).encode()
    finally:
        await form.close()
    if "header" not in parts:
        return _error(400, "the upload has no header part")
    try:
        header = MetricsRecordingHeader.FromString(parts["header"])
    except ProtobufDecodeError as exc:
        return _error(400, f"the header part is not a MetricsRecordingHeader: {exc}")
    stored: dict[str, Any] = {}
    ingestor = services(request).ingestor
    call_id = header.job_id or header.room_id
    if header.session_summary:
        try:
            accepted = await run_in_threadpool(ingestor.post_usage, header.session_summary.encode())
        except (DecodeError, UsageError) as exc:
            return _error(400, f"the header's session summary is not a session report: {exc}")
        except IngestUnavailableError as exc:
            return _error(503, str(exc), {"Retry-After": str(exc.retry_after_s)})
        stored["usage"] = accepted.call_id
    # the usage first: a retried upload stores it once (idempotent), the rest again (the newest wins)
    if parts.get("chat_history") and call_id:
        try:
            items = json.loads(parts["chat_history"])
        except ValueError as exc:
            return _error(400, f"the chat_history part is not JSON: {exc}")
        if not isinstance(items, dict) or not isinstance(items.get("items"), list):
            return _error(400, "the chat_history part is not a chat history (an object with an items list)")
        try:
            await run_in_threadpool(
                ingestor.store_chat_history, call_id, header.room_id, _session_start_ms(header), parts["chat_history"]
            )
        except IngestUnavailableError as exc:
            return _error(503, str(exc), {"Retry-After": str(exc.retry_after_s)})
        stored["chat_history"] = len(items["items"])
    if parts.get("audio") and call_id:
        audio_type = types.get("audio") or "audio/ogg"
        if not audio_type.startswith("audio/"):
            return _error(400, f"the audio part is {audio_type!r}, not audio")
        started_ms = _audio_start_ms(header)
        try:
            kept = await run_in_threadpool(
                ingestor.store_recording,
                call_id,
                header.room_id,
                started_ms,
                int(header.duration),
                audio_type,
                parts["audio"],
            )
        except IngestUnavailableError as exc:
            return _error(503, str(exc), {"Retry-After": str(exc.retry_after_s)})
        if kept:
            stored["audio"] = len(parts["audio"])
    # what the worker did not send (its recording options) is simply absent: the answer names it
    absent = [name for name in ("chat_history", "audio") if not parts.get(name)]
    return JSONResponse({"job_id": header.job_id, "room_id": header.room_id, "stored": stored, "absent": absent}, 200)


def _session_start_ms(header: MetricsRecordingHeader) -> int:
    """When the session started (unix ms): the header's start time, else the summary's."""
    if header.HasField("start_time") and header.start_time.ToMilliseconds() > 0:
        return int(header.start_time.ToMilliseconds())
    try:
        summary = json.loads(header.session_summary) if header.session_summary else {}
        return int(float(summary.get("started_at") or summary.get("timestamp") or 0) * 1000)
    except (ValueError, TypeError, AttributeError):
        return 0


def _audio_start_ms(header: MetricsRecordingHeader) -> int:
    """When the audio starts (unix ms): the session's recording start, else the header's start time."""
    try:
        summary = json.loads(header.session_summary) if header.session_summary else {}
        started = float(summary.get("audio_recording_started_at") or 0)
    except (ValueError, TypeError, AttributeError):
        started = 0.0
    if started > 0:
        return int(started * 1000)
    return int(header.start_time.ToMilliseconds()) if header.HasField("start_time") else 0
