"""Write-ahead log: a request is acknowledged once its rows are appended here, and the writer
inserts them in large batches afterwards. On start, rows appended but not yet inserted are replayed.

Layout (one directory per database):
- numbered segment files of frames;
- `checkpoint`: the position up to which every frame is in storage;
- `inflight`: the frames of the batch being inserted (start and end position), written before each
  insert, so that a batch interrupted by a crash is replayed as the very same batch, under the same
  insert deduplication token, and storage skips what of it had already landed;
- `instance`: a random id of this log, part of every token (a new log never reuses an old token).

A frame is

    b"LKW2" | u32 payload length | u32 crc32(payload) | payload

and a payload is the request's 16-byte digest (zeros when none) followed by a u16 table count, then
per table a u16 name length, the name (UTF-8), a u32 length and an Arrow IPC stream (`LKW1` frames,
written before digests existed, have no digest). A torn frame at the end of the last segment (a crash
mid-append; that request was never answered) is cut off on recovery. Frames that storage refuses even
while it takes other writes are moved to `quarantine.wal` in the same format, never dropped.

By default appends are plain `write`s: they survive the process being killed, as ClickHouse's own
parts do (it does not fsync by default either); a power cut can lose the last seconds of both. With
`fsync=True` every acknowledged append is on disk first: appends that arrive together share one
fsync (group commit).
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from livekit_dashboard.store import StorageError

__all__ = ["DIGEST_BYTES", "Frame", "Position", "WalError", "WriteAheadLog", "decode_payload", "encode_payload"]

log = logging.getLogger(__name__)

_MAGIC_V1 = b"LKW1"
_MAGIC = b"LKW2"
_HEADER = struct.Struct("<4sII")
_SEGMENT_SUFFIX = ".wal"
DIGEST_BYTES = 16
_NO_DIGEST = bytes(DIGEST_BYTES)


class WalError(StorageError):
    """The log could not be written (disk full, permissions): the request must not be acknowledged."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the log: segment number and byte offset."""

    segment: int
    offset: int

    def __str__(self) -> str:
        return f"{self.segment}.{self.offset}"


@dataclass(frozen=True, slots=True)
class Frame:
    """One acknowledged request: its rows per table, its digest, and where it lies in the log."""

    tables: dict[str, pa.Table]
    digest: bytes
    start: Position
    end: Position


def encode_payload(tables: Mapping[str, pa.Table], digest: bytes = _NO_DIGEST) -> bytes:
    if len(digest) != DIGEST_BYTES:
        raise ValueError(f"a request digest is {DIGEST_BYTES} bytes")
    parts = [digest, struct.pack("<H", len(tables))]
    for name, table in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        encoded = name.encode()
        ipc = sink.getvalue().to_pybytes()
        parts += [struct.pack("<H", len(encoded)), encoded, struct.pack("<I", len(ipc)), ipc]
    return b"".join(parts)


def decode_payload(payload: bytes, *, has_digest: bool = True) -> tuple[bytes, dict[str, pa.Table]]:
    """The digest and the tables of a frame's payload."""
    view = memoryview(payload)
    digest = bytes(view[:DIGEST_BYTES]) if has_digest else _NO_DIGEST
    pos = DIGEST_BYTES if has_digest else 0
    (count,) = struct.unpack_from("<H", view, pos)
    pos += 2
    tables: dict[str, pa.Table] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", view, pos)
        name = bytes(view[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        (ipc_len,) = struct.unpack_from("<I", view, pos)
        pos += 4
        # copied into a fresh (64-byte aligned) buffer: Arrow columns read in place from an arbitrary
        # offset of the frame are misaligned, which the engine's Arrow reader complains about per column
        ipc = pa.allocate_buffer(ipc_len)
        memoryview(ipc).cast("B")[:] = view[pos : pos + ipc_len]
        with pa.ipc.open_stream(ipc) as reader:
            tables[name] = reader.read_all()
        pos += ipc_len
    return digest, tables


def _frame(payload: bytes) -> bytes:
    return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


class WriteAheadLog:
    """Append frames (from any thread), replay what is not checkpointed, checkpoint what is stored."""

    def __init__(self, directory: Path, *, segment_bytes: int = 64 * 1024 * 1024, fsync: bool = False) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._fsync = fsync
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WalError(f"cannot create the write-ahead log directory {directory}: {exc}") from exc
        self._lock_fd = self._lock_directory()
        self.instance_id = self._read_instance_id()
        self._checkpoint = self._read_position("checkpoint") or Position(0, 0)
        self.inflight = self._read_inflight()
        segments = self._segments()
        self._segment = max(segments[-1] if segments else 0, self._checkpoint.segment, 1)
        self._fd = -1
        self._size = 0
        # group commit of fsyncs: the position known to be on disk, and whether a thread is syncing
        self._sync_cond = threading.Condition()
        self._synced = Position(0, 0)
        self._syncing = False

    def _lock_directory(self) -> int:
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise WalError(
                f"another livekit-dashboard process is using the write-ahead log in {self.directory}"
            ) from None
        return fd

    def _read_instance_id(self) -> str:
        path = self.directory / "instance"
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            value = ""
        except OSError as exc:
            raise WalError(f"unreadable write-ahead log id in {self.directory}: {exc}") from exc
        if value.isalnum() and len(value) == 32:
            return value
        value = uuid.uuid4().hex
        self._replace_file("instance", value)
        return value

    # -- recovery ---------------------------------------------------------------------------------

    def _segments(self) -> list[int]:
        out = []
        for path in self.directory.glob(f"*{_SEGMENT_SUFFIX}"):
            if path.stem.isdigit():
                out.append(int(path.stem))
        return sorted(out)

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:012d}{_SEGMENT_SUFFIX}"

    def _read_position(self, name: str) -> Position | None:
        try:
            segment, offset = (self.directory / name).read_text().split()[:2]
            return Position(int(segment), int(offset))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise WalError(f"unreadable write-ahead log {name} in {self.directory}: {exc}") from exc

    def _read_inflight(self) -> tuple[Position, Position] | None:
        try:
            words = (self.directory / "inflight").read_text().split()
            start, end = Position(int(words[0]), int(words[1])), Position(int(words[2]), int(words[3]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, IndexError):
            return None  # torn by a crash while it was written: that batch was never inserted
        return (start, end) if end > self._checkpoint else None

    @staticmethod
    def read_frames(path: Path, start: int = 0, segment: int = 0) -> Iterator[Frame]:
        """The whole frames of a log file (a segment or the quarantine); stops at the first torn or
        corrupt one."""
        data = path.read_bytes()
        pos = start
        while pos + _HEADER.size <= len(data):
            magic, length, crc = _HEADER.unpack_from(data, pos)
            end = pos + _HEADER.size + length
            payload = data[pos + _HEADER.size : end]
            if magic not in (_MAGIC, _MAGIC_V1) or end > len(data) or zlib.crc32(payload) != crc:
                return
            digest, tables = decode_payload(payload, has_digest=magic == _MAGIC)
            yield Frame(tables, digest, Position(segment, pos), Position(segment, end))
            pos = end

    def recover(self) -> Iterator[Frame]:
        """Frames appended after the checkpoint, oldest first. Call once, before the first append. A
        torn or corrupt tail is cut off the segment it ends."""
        for segment in self._segments():
            if segment < self._checkpoint.segment:
                self._path(segment).unlink(missing_ok=True)
                continue
            path = self._path(segment)
            pos = self._checkpoint.offset if segment == self._checkpoint.segment else 0
            for frame in self.read_frames(path, pos, segment):
                yield frame
                pos = frame.end.offset
            size = path.stat().st_size
            if pos < size:
                log.warning(
                    "write-ahead log %s: cutting off %d bytes of an unfinished append at offset %d",
                    path.name,
                    size - pos,
                    pos,
                )
                os.truncate(path, pos)

    # -- appending --------------------------------------------------------------------------------

    def append(self, payload: bytes) -> tuple[Position, Position]:
        """Append one frame; its start and end. WalError if it could not be written whole. With fsync
        on, the frame is durable once `sync(end)` returns."""
        frame = _frame(payload)
        with self._lock:
            try:
                if self._fd < 0 or self._size >= self._segment_bytes:
                    self._open_next()
                start = Position(self._segment, self._size)
                written = os.write(self._fd, frame)
                while written < len(frame):  # a short write: finish it
                    written += os.write(self._fd, frame[written:])
            except OSError as exc:
                self._cut_back()
                raise WalError(f"cannot append to the write-ahead log: {exc}") from exc
            self._size += len(frame)
            return start, Position(self._segment, self._size)

    def sync(self, end: Position) -> None:
        """With fsync on, return once everything up to `end` is on disk (appends waiting together
        share one fsync); at once otherwise."""
        if not self._fsync:
            return
        with self._sync_cond:
            while self._synced < end:
                if self._syncing:
                    self._sync_cond.wait()
                    continue
                self._syncing = True
                with self._lock:
                    # a duplicate, so that a segment rotating meanwhile cannot close it under us
                    target, fd = Position(self._segment, self._size), os.dup(self._fd)
                self._sync_cond.release()
                try:
                    os.fsync(fd)
                except OSError as exc:
                    raise WalError(f"cannot fsync the write-ahead log: {exc}") from exc
                finally:
                    os.close(fd)
                    self._sync_cond.acquire()
                    self._syncing = False
                    self._sync_cond.notify_all()
                self._synced = max(self._synced, target)

    def _open_next(self) -> None:
        if self._fd >= 0:
            if self._fsync:
                os.fsync(self._fd)  # frames of the old segment are acknowledged only once synced
            os.close(self._fd)
            self._segment += 1
        elif self._path(self._segment).exists():
            self._segment += 1  # never append behind frames that recovery already handed out
        self._fd = os.open(self._path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        if self._fsync:
            self._sync_directory()

    def _cut_back(self) -> None:
        """After a failed append, remove any partial frame so later frames stay readable."""
        if self._fd >= 0:
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                os.close(self._fd)
                self._fd = -1  # the next append starts a fresh segment

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _replace_file(self, name: str, text: str) -> None:
        tmp = self.directory / f"{name}.tmp"
        with tmp.open("w") as fh:
            fh.write(text)
            if self._fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, self.directory / name)

    # -- batches and checkpoints ------------------------------------------------------------------

    def bytes_on_disk(self) -> int:
        """Bytes of the log's segment files (what is not yet known to be in storage, and the current
        segment)."""
        total = 0
        for segment in self._segments():
            try:
                total += self._path(segment).stat().st_size
            except FileNotFoundError:  # checkpointed away meanwhile
                continue
        return total

    def token(self, start: Position, end: Position) -> str:
        """The insert deduplication token of the batch of frames from `start` to `end`."""
        return f"{self.instance_id}:{start}-{end}"

    def mark_inflight(self, start: Position, end: Position) -> None:
        """The batch from `start` to `end` is about to be inserted: after a crash, replay it whole."""
        try:
            self._replace_file("inflight", f"{start.segment} {start.offset} {end.segment} {end.offset}\n")
        except OSError as exc:
            raise WalError(f"cannot write the write-ahead log's in-flight batch: {exc}") from exc
        self.inflight = (start, end)

    def checkpoint(self, position: Position) -> None:
        """Everything up to `position` is in storage: record it and delete older segments."""
        self._replace_file("checkpoint", f"{position.segment} {position.offset}\n")
        self._checkpoint = position
        for segment in self._segments():
            if segment < position.segment:
                self._path(segment).unlink(missing_ok=True)

    def quarantine(self, payload: bytes) -> Path:
        """Keep a frame storage refused, for an operator to inspect or re-send."""
        path = self.directory / "quarantine.wal"
        with path.open("ab") as fh:
            fh.write(_frame(payload))
        return path

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            if self._lock_fd >= 0:
                os.close(self._lock_fd)  # releases the lock
                self._lock_fd = -1
