"""DashboardServer: open storage, migrate, start the writer, gRPC and HTTP; stop them in order."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import uvicorn

from livekit_dashboard.api.app import create_app
from livekit_dashboard.api.consistency import ReadYourWritesEngine
from livekit_dashboard.config import Settings
from livekit_dashboard.ingest import Batcher, Ingestor, IngestStats
from livekit_dashboard.ingest.grpc_server import start_grpc_server
from livekit_dashboard.ingest.wal import WalError, WriteAheadLog
from livekit_dashboard.store import Engine, KeyStore, Retention, apply_migrations, apply_retention, open_engine

__all__ = ["DashboardServer"]

log = logging.getLogger(__name__)


class DashboardServer:
    """Everything one `livekit-dashboard serve` process runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # reads see every row acknowledged before them (ingest acknowledges at the write-ahead log)
        self._storage = ReadYourWritesEngine(open_engine(settings.resolved_dsn(), settings.database))
        self.engine: Engine = self._storage
        try:
            apply_migrations(self.engine)
            apply_retention(
                self.engine,
                Retention(
                    traces=settings.retention_days_traces,
                    logs=settings.retention_days_logs,
                    metrics=settings.retention_days_metrics,
                    usage=settings.retention_days_usage,
                ),
            )
        except Exception:
            self.engine.close()
            raise
        try:
            wal = WriteAheadLog(settings.wal_dir())
        except WalError:
            self.engine.close()
            raise
        self.batcher = Batcher(
            self.engine,
            wal,
            max_queue_rows=settings.queue_max_rows,
            max_batch_rows=settings.batch_max_rows,
            flush_interval_s=settings.flush_interval_ms / 1000,
            admission_wait_s=settings.queue_wait_ms / 1000,
        )
        self._storage.batcher = self.batcher
        self.ingestor = Ingestor(self.batcher, IngestStats())
        self.keys = KeyStore(self.engine)
        admin_key = settings.admin_key.get_secret_value()
        if admin_key:
            self.keys.ensure_bootstrap(admin_key)
        self.auth_required = settings.auth_required()
        self.app = create_app(
            self.engine,
            self.ingestor,
            self.keys,
            max_body_bytes=settings.max_body_bytes,
            auth_required=self.auth_required,
            failed_keys_per_minute=settings.failed_keys_per_minute,
        )
        self._stopping = threading.Event()
        self._key_flusher = threading.Thread(target=self._flush_key_usage, name="key-usage", daemon=True)
        self._grpc: Any = None
        self._http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self.grpc_port = 0
        self.http_port = 0

    def start_background(self) -> None:
        """Start writer, gRPC and HTTP in background threads; returns once both listen."""
        self.batcher.start()
        self._key_flusher.start()
        self._start_grpc()
        config = uvicorn.Config(
            self.app,
            host=self.settings.host,
            port=self.settings.port,
            log_level=self.settings.log_level,
            # logging is the CLI's to configure: uvicorn's dictConfig would flush and replace every
            # handler in the process (an OpenTelemetry LoggingHandler's flush can deadlock there)
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._http = uvicorn.Server(config)
        self._http_thread = threading.Thread(target=self._http.run, name="http", daemon=True)
        self._http_thread.start()
        deadline = time.monotonic() + 30
        while not self._http.started:
            if not self._http_thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError(f"HTTP server failed to start on {self.settings.host}:{self.settings.port}")
            time.sleep(0.02)
        self.http_port = self._http.servers[0].sockets[0].getsockname()[1]

    def _start_grpc(self) -> None:
        if self.settings.grpc_port:
            self._grpc = start_grpc_server(
                self.ingestor,
                self.settings.host,
                self.settings.grpc_port,
                self.settings.max_body_bytes,
                verify_key=self._verify_ingest_key if self.auth_required else None,
            )
            self.grpc_port = self._grpc.bound_port

    def _verify_ingest_key(self, plaintext: str) -> str:
        """gRPC's check: '' when the key may ingest, else why not (starting 'forbidden' for 403s)."""
        if not plaintext:
            return "missing API key: send authorization: Bearer <key> or x-api-key metadata"
        key = self.keys.verify(plaintext)
        if key is None:
            return "invalid or revoked API key"
        if key.role not in ("ingest", "super-admin"):
            return f"forbidden: this key's role is {key.role}; ingest needs an ingest or super-admin key"
        return ""

    def _flush_key_usage(self) -> None:
        while not self._stopping.wait(30):
            try:
                self.keys.flush_usage()
            except Exception:  # a storage hiccup must not end the thread; the next round retries
                log.warning("could not record API key use", exc_info=True)

    def wait(self) -> None:
        """Block until the HTTP server ends (Ctrl-C / SIGTERM)."""
        if self._http_thread is not None:
            while self._http_thread.is_alive():
                self._http_thread.join(0.5)

    def request_stop(self) -> None:
        if self._http is not None:
            self._http.should_exit = True

    def stop(self) -> None:
        """Stop accepting, write what was accepted, release storage."""
        self.request_stop()
        if self._http_thread is not None and self._http_thread.is_alive():
            self._http_thread.join(10)
        if self._grpc is not None:
            self._grpc.stop(grace=5).wait(10)
            self._grpc = None
        self.batcher.stop()
        self._stopping.set()
        try:
            self.keys.flush_usage()
        except Exception:
            log.warning("could not record API key use", exc_info=True)
        self.engine.close()

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.http_port}"
