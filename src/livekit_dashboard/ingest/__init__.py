"""Ingest: OTLP bytes -> rows -> storage, with a write-ahead log, group commit and backpressure.

The transports (in api/) use only what this package exports here."""

from livekit_dashboard.ingest.batcher import Batcher, QueueFullError
from livekit_dashboard.ingest.consistency import ReadYourWritesEngine
from livekit_dashboard.ingest.decode import (
    DecodeError,
    Encoding,
    Signal,
    encode_error,
    encode_response,
    encoding_for_content_type,
)
from livekit_dashboard.ingest.dedup import RecentRequests
from livekit_dashboard.ingest.diskspace import DiskSpace
from livekit_dashboard.ingest.service import ExportResult, Ingestor, IngestUnavailableError, UsageAccepted
from livekit_dashboard.ingest.stats import IngestStats
from livekit_dashboard.ingest.trace_requests import TraceRequests
from livekit_dashboard.ingest.usage import UsageError
from livekit_dashboard.ingest.wal import WalError, WriteAheadLog

__all__ = [
    "Batcher",
    "DecodeError",
    "DiskSpace",
    "Encoding",
    "ExportResult",
    "IngestStats",
    "IngestUnavailableError",
    "Ingestor",
    "QueueFullError",
    "ReadYourWritesEngine",
    "RecentRequests",
    "Signal",
    "TraceRequests",
    "UsageAccepted",
    "UsageError",
    "WalError",
    "WriteAheadLog",
    "encode_error",
    "encode_response",
    "encoding_for_content_type",
]
