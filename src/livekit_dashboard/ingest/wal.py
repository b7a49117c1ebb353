"""Write-ahead log: a request is acknowledged once its rows are appended here, and the writer
inserts them in large batches afterwards. On start, rows appended but not yet inserted are replayed.

Layout (one directory per database): numbered segment files of frames, and a `checkpoint` file naming
the position up to which every frame is in storage. A frame is

    b"LKW1" | u32 payload length | u32 crc32(payload) | payload

and a payload is a u16 table count, then per table a u16 name length, the name (UTF-8), a u32 length
and an Arrow IPC stream. A torn frame at the end of the last segment (a crash mid-append; that request
was never answered) is cut off on recovery. Frames that storage refuses even while it takes other writes
are moved to `quarantine.wal` in the same format, never dropped.

Appends are plain `write`s: they survive the process being killed, as ClickHouse's own parts do (it
does not fsync by default either); a power cut can lose the last seconds of both.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from livekit_dashboard.store import StorageError

__all__ = ["Position", "WalError", "WriteAheadLog", "decode_payload", "encode_payload"]

log = logging.getLogger(__name__)

_MAGIC = b"LKW1"
_HEADER = struct.Struct("<4sII")
_SEGMENT_SUFFIX = ".wal"


class WalError(StorageError):
    """The log could not be written (disk full, permissions): the request must not be acknowledged."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """The end of a frame: segment number and byte offset after it."""

    segment: int
    offset: int


def encode_payload(tables: Mapping[str, pa.Table]) -> bytes:
    parts = [struct.pack("<H", len(tables))]
    for name, table in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        encoded = name.encode()
        ipc = sink.getvalue().to_pybytes()
        parts += [struct.pack("<H", len(encoded)), encoded, struct.pack("<I", len(ipc)), ipc]
    return b"".join(parts)


def decode_payload(payload: bytes) -> dict[str, pa.Table]:
    view = memoryview(payload)
    (count,) = struct.unpack_from("<H", view, 0)
    pos = 2
    tables: dict[str, pa.Table] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", view, pos)
        name = bytes(view[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        (ipc_len,) = struct.unpack_from("<I", view, pos)
        pos += 4
        with pa.ipc.open_stream(pa.py_buffer(view[pos : pos + ipc_len])) as reader:
            tables[name] = reader.read_all()
        pos += ipc_len
    return tables


def _frame(payload: bytes) -> bytes:
    return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


class WriteAheadLog:
    """Append frames (from any thread), replay what is not checkpointed, checkpoint what is stored."""

    def __init__(self, directory: Path, *, segment_bytes: int = 64 * 1024 * 1024) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WalError(f"cannot create the write-ahead log directory {directory}: {exc}") from exc
        self._lock_fd = self._lock_directory()
        self._checkpoint = self._read_checkpoint()
        segments = self._segments()
        self._segment = max(segments[-1] if segments else 0, self._checkpoint.segment, 1)
        self._fd = -1
        self._size = 0

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

    # -- recovery ---------------------------------------------------------------------------------

    def _segments(self) -> list[int]:
        out = []
        for path in self.directory.glob(f"*{_SEGMENT_SUFFIX}"):
            if path.stem.isdigit():
                out.append(int(path.stem))
        return sorted(out)

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:012d}{_SEGMENT_SUFFIX}"

    def _read_checkpoint(self) -> Position:
        try:
            segment, offset = (self.directory / "checkpoint").read_text().split()
            return Position(int(segment), int(offset))
        except FileNotFoundError:
            return Position(0, 0)
        except (OSError, ValueError) as exc:
            raise WalError(f"unreadable write-ahead log checkpoint in {self.directory}: {exc}") from exc

    @staticmethod
    def read_frames(path: Path, start: int = 0) -> Iterator[tuple[dict[str, pa.Table], int]]:
        """The whole frames of a log file (a segment or the quarantine), each with its end offset;
        stops at the first torn or corrupt one."""
        data = path.read_bytes()
        pos = start
        while pos + _HEADER.size <= len(data):
            magic, length, crc = _HEADER.unpack_from(data, pos)
            end = pos + _HEADER.size + length
            payload = data[pos + _HEADER.size : end]
            if magic != _MAGIC or end > len(data) or zlib.crc32(payload) != crc:
                return
            yield decode_payload(payload), end
            pos = end

    def recover(self) -> Iterator[tuple[dict[str, pa.Table], Position]]:
        """Frames appended after the checkpoint, oldest first, each with its end position. Call once,
        before the first append. A torn or corrupt tail is cut off the segment it ends."""
        for segment in self._segments():
            if segment < self._checkpoint.segment:
                self._path(segment).unlink(missing_ok=True)
                continue
            path = self._path(segment)
            pos = self._checkpoint.offset if segment == self._checkpoint.segment else 0
            for tables, end in self.read_frames(path, pos):
                yield tables, Position(segment, end)
                pos = end
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

    def append(self, payload: bytes) -> Position:
        """Append one frame; WalError if it could not be written whole."""
        frame = _frame(payload)
        with self._lock:
            try:
                if self._fd < 0 or self._size >= self._segment_bytes:
                    self._open_next()
                written = os.write(self._fd, frame)
                while written < len(frame):  # a short write: finish it
                    written += os.write(self._fd, frame[written:])
            except OSError as exc:
                self._cut_back()
                raise WalError(f"cannot append to the write-ahead log: {exc}") from exc
            self._size += len(frame)
            return Position(self._segment, self._size)

    def _open_next(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._segment += 1
        elif self._path(self._segment).exists():
            self._segment += 1  # never append behind frames that recovery already handed out
        self._fd = os.open(self._path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _cut_back(self) -> None:
        """After a failed append, remove any partial frame so later frames stay readable."""
        if self._fd >= 0:
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                os.close(self._fd)
                self._fd = -1  # the next append starts a fresh segment

    # -- checkpointing ----------------------------------------------------------------------------

    def checkpoint(self, position: Position) -> None:
        """Everything up to `position` is in storage: record it and delete older segments."""
        tmp = self.directory / "checkpoint.tmp"
        tmp.write_text(f"{position.segment} {position.offset}\n")
        os.replace(tmp, self.directory / "checkpoint")
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
