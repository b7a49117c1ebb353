"""Ingest: OTLP bytes -> rows -> storage, over HTTP and gRPC, with group commit and backpressure."""

from livekit_dashboard.ingest.batcher import Batcher, QueueFullError
from livekit_dashboard.ingest.decode import DecodeError, Signal
from livekit_dashboard.ingest.service import Ingestor, IngestUnavailableError
from livekit_dashboard.ingest.stats import IngestStats

__all__ = [
    "Batcher",
    "DecodeError",
    "IngestStats",
    "IngestUnavailableError",
    "Ingestor",
    "QueueFullError",
    "Signal",
]
