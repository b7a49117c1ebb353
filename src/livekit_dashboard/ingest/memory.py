"""Memory: hand freed memory back to the operating system after an ingest burst.

A burst leaves the Arrow pool and glibc's malloc arenas holding what the queued batches used; the
process then keeps that resident memory for good unless asked to give it back. Cheap (milliseconds),
so the writer does it when its queue drains after a burst, at most every few seconds."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from typing import Any

import pyarrow as pa

__all__ = ["release_memory"]


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def release_memory() -> None:
    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):  # malloc_trim is glibc's; musl has none
            libc.malloc_trim(0)
