"""Ingestor: the one way in for every transport. OTLP/HTTP, OTLP/gRPC and the LiveKit-compatible
routes all call `export_otlp` (bytes in, Export*ServiceResponse out); posted usage records call
`post_usage`. Everything is counted in IngestStats."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from livekit_dashboard.ingest.batcher import Batcher, QueueFullError
from livekit_dashboard.ingest.decode import (
    DecodeError,
    Encoding,
    Signal,
    decompress,
    encoding_for_content_type,
    parse_request_salvaging,
    response_for,
)
from livekit_dashboard.ingest.diskspace import DiskSpace
from livekit_dashboard.ingest.logs import prepare_logs
from livekit_dashboard.ingest.metrics import prepare_metrics
from livekit_dashboard.ingest.rows import Prepared, count_records
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.ingest.stats import IngestStats
from livekit_dashboard.ingest.trace_requests import prepare_request
from livekit_dashboard.ingest.usage import parse_usage, usage_table
from livekit_dashboard.store import RecordingFiles, StorageError
from livekit_dashboard.store.tables import CHAT_HISTORIES, RECORDINGS

__all__ = ["ExportResult", "IngestUnavailableError", "Ingestor", "UsageAccepted"]

_PREPARE: dict[Signal, Callable[[Any], Prepared]] = {
    Signal.TRACES: prepare_spans,
    Signal.LOGS: prepare_logs,
    Signal.METRICS: prepare_metrics,
}
_USAGE_TABLE = "lk_usage_posted"


class IngestUnavailableError(RuntimeError):
    """Rows were not stored (queue full, storage or the write-ahead log failing, disk almost full);
    answer 503 / UNAVAILABLE."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class ExportResult:
    """An accepted OTLP request: the Export*ServiceResponse and the encoding to answer in."""

    response: Any
    encoding: Encoding
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class UsageAccepted:
    call_id: str
    kind: str  # session_report or usage_record
    duplicate: bool = False


DISABLED = "ingest is disabled on this server (--no-ingest); send data to a server that ingests"
_DISABLED_RETRY_S = 60


def _disabled() -> IngestUnavailableError:
    return IngestUnavailableError(DISABLED, _DISABLED_RETRY_S)


def _digest(kind: str, body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16, person=kind.encode()[:16]).digest()


class Ingestor:
    def __init__(
        self,
        batcher: Batcher,
        stats: IngestStats,
        disk: DiskSpace,
        *,
        max_body_bytes: int,
        decoders: int = 2,
        recordings: RecordingFiles | None = None,
        enabled: bool = True,
        decode_in_engine: bool = False,
    ) -> None:
        self._batcher = batcher
        # serve --no-ingest: every verb that would store data answers "unavailable" (503 / UNAVAILABLE)
        self.enabled = enabled
        self._stats = stats
        self._disk = disk
        self._recordings = recordings
        self.max_body_bytes = max_body_bytes
        # converting a request to rows is Python work under the GIL: more at once than this only makes
        # them (and the event loop) wait for each other. Waiting for room in the queue holds no slot.
        self._decoding = threading.BoundedSemaphore(decoders)
        # protobuf trace requests are stored whole and the engine builds their rows (ingest/trace_requests.py)
        self._decode_in_engine = decode_in_engine

    # -- the verbs the transports call -------------------------------------------------------------

    def retry_hint_s(self) -> int:
        """When a refused client should come back (Retry-After)."""
        return self._batcher.retry_hint_s()

    def refusal(self) -> IngestUnavailableError | None:
        """Why a new request would be refused right now (checked before its body is read), or None."""
        if not self.enabled:
            return _disabled()
        problem = self._disk.problem()
        if problem:
            return IngestUnavailableError(problem, 30)
        if self._batcher.saturated():
            self._stats.refuse()
            return IngestUnavailableError("ingest queue is full", self._batcher.retry_hint_s())
        return None

    def export_otlp(
        self, signal: Signal, body: bytes, content_type: str | None, content_encoding: str | None = None
    ) -> ExportResult:
        """Decode an OTLP request body and store its rows. DecodeError (with the HTTP status) for a body
        we cannot accept; IngestUnavailableError when nothing was stored and the client should retry."""
        encoding = encoding_for_content_type(content_type)
        if not self.enabled:
            raise _disabled()
        try:
            raw = decompress(body, content_encoding, self.max_body_bytes)
            digest = _digest(signal.value, raw)
            if self._batcher.seen(digest):  # a client's retry of a request already stored
                self._stats.duplicate()
                return ExportResult(response_for(signal), encoding, duplicate=True)
            request, dropped = parse_request_salvaging(signal, encoding, raw)
        except DecodeError as exc:
            exc.encoding = encoding
            raise
        # room in the queue first: a request that is refused is refused before it is converted to rows
        held = self._reserve(count_records(signal, request))
        try:
            with self._decoding:
                prepared = self._prepare(signal, request, dropped, raw if encoding is Encoding.PROTOBUF else None)
        except BaseException:
            self._batcher.release(held)
            raise
        stored = self._submit(prepared.tables, digest, prepared.num_rows, reserved=held)
        if stored:
            self._stats.add(signal, stored=prepared.accepted)
        return ExportResult(_response(prepared), encoding, duplicate=not stored)

    def post_usage(self, body: bytes) -> UsageAccepted:
        """Store one call's usage record (SessionReport.to_dict() or a plain record, JSON). UsageError
        (or DecodeError for malformed JSON) when it is not one; IngestUnavailableError to retry."""
        if not self.enabled:
            raise _disabled()
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DecodeError(400, f"malformed JSON: {exc}") from None
        except RecursionError:
            raise DecodeError(400, "malformed JSON: nested too deeply") from None
        row, kind = parse_usage(document)
        stored = self._submit({_USAGE_TABLE: usage_table(row)}, _digest("usage", body), 1)
        return UsageAccepted(row["CallId"], kind, duplicate=not stored)

    def store_recording(
        self, call_id: str, room_id: str, started_ms: int, duration_ms: int, content_type: str, audio: bytes
    ) -> bool:
        """Keep a call's audio: the file first (durably), then its row through the write-ahead log; False
        when this server keeps no recordings. IngestUnavailableError when the disk is almost full."""
        if not self.enabled:
            raise _disabled()
        if self._recordings is None:
            return False
        problem = self._disk.problem()
        if problem:
            raise IngestUnavailableError(problem, 30)
        try:
            name = self._recordings.write(call_id, content_type, audio)
        except OSError as exc:  # a full or failing disk: refuse, keep nothing half-written
            raise IngestUnavailableError(f"could not store the recording: {exc.strerror or exc}", 30) from None
        now_ms = int(time.time() * 1000)
        row = {
            "CallId": call_id,
            "RoomId": room_id,
            "StartedAt": started_ms,
            "DurationMs": duration_ms,
            "Bytes": len(audio),
            "ContentType": content_type,
            "File": name,
            "UploadedAt": now_ms,
        }
        table = pa.Table.from_pylist([row], schema=RECORDINGS)
        self._submit({"lk_recordings": table}, _digest("recording", call_id.encode() + audio), 1)
        return True

    def store_chat_history(self, call_id: str, room_id: str, started_ms: int, items: bytes) -> None:
        """Keep the chat history a session upload carried (livekit-agents' ChatContext JSON, as sent) through
        the write-ahead log. IngestUnavailableError when the disk is almost full or the queue is full."""
        if not self.enabled:
            raise _disabled()
        row = {
            "CallId": call_id,
            "RoomId": room_id,
            "StartedAt": started_ms,
            "Items": items.decode("utf-8", "replace"),
            "UploadedAt": int(time.time() * 1000),
        }
        table = pa.Table.from_pylist([row], schema=CHAT_HISTORIES)
        self._submit({"lk_chat_histories": table}, _digest("chat_history", call_id.encode() + items), 1)

    def _prepare(self, signal: Signal, request: Any, dropped: Counter[str], body: bytes | None) -> Prepared:
        """Rows of a decoded request; a protobuf trace request that parsed whole, kept whole for the engine."""
        if self._decode_in_engine and signal is Signal.TRACES and body is not None and not dropped:
            prepared = prepare_request(request, body)
        else:
            prepared = _PREPARE[signal](request)
        for reason, count in dropped.items():  # records the body held that did not parse
            prepared.reject(reason, count)
        self._stats.add(signal, received=prepared.accepted + prepared.rejected, rejected=prepared.rejected)
        return prepared

    def _reserve(self, num_rows: int) -> int:
        problem = self._disk.problem()
        if problem and num_rows:
            raise IngestUnavailableError(problem, 30)
        try:
            return self._batcher.reserve(num_rows)
        except QueueFullError as exc:
            self._stats.refuse()
            raise IngestUnavailableError(str(exc), exc.retry_after_s) from None

    def _submit(self, tables: dict[str, Any], digest: bytes, num_rows: int, *, reserved: int = 0) -> bool:
        problem = self._disk.problem()
        if problem and num_rows:
            self._batcher.release(reserved)
            raise IngestUnavailableError(problem, 30)
        try:
            stored = self._batcher.submit(tables, digest, reserved=reserved)
        except QueueFullError as exc:
            self._stats.refuse()
            raise IngestUnavailableError(str(exc), exc.retry_after_s) from None
        except StorageError as exc:
            raise IngestUnavailableError(f"storage unavailable: {exc}", 5) from None
        if not stored:
            self._stats.duplicate()
        return stored

    # -- state ---------------------------------------------------------------------------------------

    def wait_visible(self, timeout_s: float = 5.0) -> bool:
        """Wait until every request acknowledged so far is in storage (see Batcher.wait_visible)."""
        return self._batcher.wait_visible(timeout_s)

    def problems(self) -> list[str]:
        """What keeps ingest from taking data right now (empty when it is ready)."""
        out = []
        if error := self._batcher.last_error:
            out.append(f"storage refuses writes: {error}")
        if error := self._batcher.wal_error:
            out.append(error)
        if problem := self._disk.problem():
            out.append(problem)
        return out

    def stats(self) -> dict[str, Any]:
        """Counts since start, plus the queue and write-ahead log state."""
        return {
            **self._stats.snapshot(),
            "queue_depth": self._batcher.queue_depth,
            "quarantined_rows": self._batcher.quarantined_rows,
            "recovered_rows": self._batcher.recovered_rows,
            "free_disk_bytes": self._disk.free_bytes(),
            "wal_bytes": self._batcher.wal_bytes(),
        }

    def observe_inserts(self, callback: Callable[[float, int], None]) -> None:
        """Tell `callback` each insert's duration (seconds) and rows once it is in storage."""
        self._batcher.on_insert = callback


def _response(prepared: Prepared) -> Any:
    response = response_for(prepared.signal)
    if prepared.rejected:
        partial = response.partial_success
        if prepared.signal is Signal.TRACES:
            partial.rejected_spans = prepared.rejected
        elif prepared.signal is Signal.LOGS:
            partial.rejected_log_records = prepared.rejected
        else:
            partial.rejected_data_points = prepared.rejected
        partial.error_message = prepared.error_message()
    return response
