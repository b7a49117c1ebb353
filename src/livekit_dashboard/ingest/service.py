"""Ingestor: what both transports share. Turn a decoded request into stored rows and an
Export*ServiceResponse, counting everything in IngestStats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livekit_dashboard.ingest.batcher import Batcher, QueueFullError
from livekit_dashboard.ingest.decode import Signal, response_for
from livekit_dashboard.ingest.logs import prepare_logs
from livekit_dashboard.ingest.metrics import prepare_metrics
from livekit_dashboard.ingest.rows import Prepared
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.ingest.stats import IngestStats
from livekit_dashboard.store import StorageError

__all__ = ["IngestUnavailableError", "Ingestor"]

_PREPARE: dict[Signal, Callable[[Any], Prepared]] = {
    Signal.TRACES: prepare_spans,
    Signal.LOGS: prepare_logs,
    Signal.METRICS: prepare_metrics,
}


class IngestUnavailableError(RuntimeError):
    """Rows were not stored (queue full or storage failing); answer 503/UNAVAILABLE."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Ingestor:
    def __init__(self, batcher: Batcher, stats: IngestStats) -> None:
        self.batcher = batcher
        self.stats = stats

    def prepare(self, signal: Signal, request: Any) -> Prepared:
        prepared = _PREPARE[signal](request)
        self.stats.add(signal, received=prepared.accepted + prepared.rejected, rejected=prepared.rejected)
        return prepared

    def submit(self, prepared: Prepared) -> None:
        """Log and queue the rows (durable on return); IngestUnavailableError when the queue stays full
        or the write-ahead log cannot be written."""
        try:
            self.batcher.submit(prepared.tables)
        except QueueFullError as exc:
            self.stats.refuse()
            raise IngestUnavailableError(str(exc), exc.retry_after_s) from None
        except StorageError as exc:
            raise IngestUnavailableError(f"storage unavailable: {exc}", 5) from None
        self.stats.add(prepared.signal, stored=prepared.accepted)

    def store(self, signal: Signal, request: Any) -> Any:
        """Blocking path (gRPC): prepare, log, and return the Export*ServiceResponse."""
        prepared = self.prepare(signal, request)
        self.submit(prepared)
        return self.response(prepared)

    @staticmethod
    def response(prepared: Prepared) -> Any:
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
