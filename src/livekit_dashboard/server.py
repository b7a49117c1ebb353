"""The composition root: DashboardServer opens storage, migrates, builds the write-ahead log, the
writer, ingest, keys and authorization, starts gRPC and HTTP, and stops them in order. Nothing else
wires components together; everything below receives plain values and objects."""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from typing import Any

import uvicorn

from livekit_dashboard.api import (
    AlertRunner,
    Authorizer,
    IngestGate,
    Listening,
    Notifier,
    ServerMetrics,
    Services,
    create_app,
    livekit_token_verifier,
    read_rules_file,
    serving_app,
    start_grpc_server,
)
from livekit_dashboard.config import Settings
from livekit_dashboard.ingest import (
    Batcher,
    DiskSpace,
    Ingestor,
    IngestStats,
    ReadYourWritesEngine,
    RecentRequests,
    TraceRequests,
    WriteAheadLog,
)
from livekit_dashboard.query import AlertStore, CallRecords, PriceBook, read_prices_file
from livekit_dashboard.store import (
    Engine,
    KeyInbox,
    KeyStore,
    Migration,
    RecordingFiles,
    Retention,
    StorageMonitor,
    apply_durability,
    apply_migrations,
    apply_retention,
    chdb_path,
    probe_writes,
)

__all__ = ["DashboardServer"]

log = logging.getLogger(__name__)

_KEY_RELOAD_S = 5.0
_KEY_INBOX_S = 1.0
_SETTLE_S = 2.0  # how often the settle thread looks at the touch queue
# ...and settles it when this many touches wait (a heavy load, settled as it comes) or the first waiting
# touch was seen this long ago (a light load: reads settle what they need first, CallRecords.barrier)
_SETTLE_TOUCHES = 1000
_SETTLE_MAX_DELAY_S = 30.0
_PRUNE_S = 3600.0
# OTLP requests read and decoded at once per transport; more are refused with 503 before reading
_MAX_INFLIGHT = 64
_SWITCH_INTERVAL_S = 0.001
_KEY_USE_FLUSH_S = 30.0


def _announce_migration(migration: Migration) -> None:
    log.info("applying migration %s", migration.announcement)


class DashboardServer:
    """Everything one `livekit-dashboard serve` process runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        cluster = settings.storage_cluster()
        storage = settings.open_storage()
        try:
            apply_migrations(storage, cluster, _announce_migration)
            apply_retention(
                storage,
                Retention(
                    traces=settings.retention_days_traces,
                    logs=settings.retention_days_logs,
                    metrics=settings.retention_days_metrics,
                    usage=settings.retention_days_usage,
                ),
                cluster,
            )
            apply_durability(storage, settings.wal_fsync, cluster)
            # a prices file that is not one stops the start (rather than pricing with what it meant to replace)
            file_overrides = read_prices_file(settings.prices_file) if settings.prices_file else []
            # as does a rules file with a rule that is not one
            file_rules = read_rules_file(settings.alerts_file) if settings.alerts_file else []
            livekit_keys = settings.livekit_keys()
            wal_dir = settings.wal_dir()
            # serve --no-ingest: no write-ahead log (and no folder for one); ingest answers 503
            wal = WriteAheadLog(wal_dir, fsync=settings.wal_fsync) if settings.ingest_enabled else None
        except Exception:
            storage.close()
            raise
        self.storage = storage  # the writer's engine (reads go through self.engine)
        data_dir = chdb_path(settings.resolved_dsn())
        # decode_in_engine: the embedded engine decodes protobuf trace requests itself, from files next to the log
        in_engine = settings.decode_in_engine and data_dir is not None and wal is not None
        requests = TraceRequests(storage, wal_dir / "decode" if in_engine else None)
        self.batcher = Batcher(
            storage,
            wal,
            RecentRequests(wal_dir / "requests.log") if wal is not None else None,
            probe_writes=functools.partial(probe_writes, storage),
            max_queue_rows=settings.queue_max_rows,
            max_batch_rows=settings.batch_max_rows,
            flush_interval_s=settings.flush_interval_ms / 1000,
            admission_wait_s=settings.queue_wait_ms / 1000,
            requests=requests,
        )
        # call records are settled from what ingest stored, in rounds and before a read that needs them
        self.call_records = CallRecords(
            storage, PriceBook(storage, file_overrides), between_inserts=self.batcher.between_inserts, cluster=cluster
        )
        # reads see every row acknowledged before them (ingest acknowledges at the write-ahead log)
        self.engine: Engine = ReadYourWritesEngine(
            storage,
            self.batcher,
            max_backlog_rows=settings.batch_max_rows,
            barriers={"lk_call_records": self.call_records.barrier, "lk_error_records": self.call_records.barrier},
        )
        watched = [wal_dir] if data_dir is None else [data_dir, wal_dir]
        if wal is None:
            watched.remove(wal_dir)
        disk = DiskSpace(watched, settings.min_free_disk_mb * 2**20)
        self.recordings = RecordingFiles(settings.recordings_dir())
        self.ingestor = Ingestor(
            self.batcher,
            IngestStats(),
            disk,
            max_body_bytes=settings.max_body_bytes,
            recordings=self.recordings,
            enabled=settings.ingest_enabled,
            decode_in_engine=requests.in_engine,
        )
        self.keys = KeyStore(storage)
        # keys handed in by `livekit-dashboard keys create`, which cannot open the data directory we hold
        self.key_inbox = KeyInbox(data_dir, settings.database) if data_dir is not None else None
        admin_key = settings.admin_key.get_secret_value()
        if admin_key:
            self.keys.ensure_bootstrap(admin_key)
        self.authorizer = Authorizer(
            self.keys,
            required=settings.auth_required(),
            failed_keys_per_minute=settings.failed_keys_per_minute,
            # livekit-agents' own uploads (LIVEKIT_OBSERVABILITY_URL) carry tokens of a LiveKit API key
            token_verifier=livekit_token_verifier(livekit_keys),
        )
        self.monitor = StorageMonitor(storage)
        # ingest runs on threads of its own (reads keep the default pool); most of them wait (for room
        # in the queue), two at a time convert requests to rows (the Ingestor's decode slots)
        self.ingest_gate = IngestGate(workers=16, max_inflight=_MAX_INFLIGHT)
        alert_store = AlertStore(storage)
        self.alerts = AlertRunner(
            self.engine,
            alert_store,
            Notifier(alert_store),
            file_rules=file_rules,
            ingest_counts=self.ingestor.stats,
            public_url=lambda: settings.public_url or self.base_url,
            interval_s=settings.alert_interval_s,
        )
        self.app = create_app(
            Services(
                self.engine,
                self.ingestor,
                self.keys,
                self.authorizer,
                self.readiness,
                self.ingest_gate,
                self.call_records,
                self.recordings,
                # the server's own metrics; table sizes from the writer's engine (no read-your-writes wait)
                ServerMetrics(self.ingestor, self.authorizer, storage, self.alerts.counts),
                self.alerts,
                listening=self.listening,
            )
        )
        self._stopping = threading.Event()
        self._key_thread = threading.Thread(target=self._maintain_keys, name="keys", daemon=True)
        self._settle_thread = threading.Thread(target=self._settle_calls, name="settle-calls", daemon=True)
        self._grpc: Any = None
        self._http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self.grpc_port = 0
        self.http_port = 0

    def readiness(self) -> list[str]:
        """What keeps this server from serving and storing data (empty: ready)."""
        problem = self.monitor.problem()
        return ([problem] if problem else []) + self.ingestor.problems()

    def start_background(self) -> None:
        """Start writer, gRPC and HTTP in background threads; returns once both listen."""
        # the event loop gives up the GIL at every socket call and waits for it again behind the decode
        # and writer threads: a shorter switch interval keeps it (health, reads) responsive under load
        sys.setswitchinterval(_SWITCH_INTERVAL_S)
        self.batcher.start()
        self.monitor.start()
        self._key_thread.start()
        self._settle_thread.start()
        self.alerts.start(evaluate=self.settings.alerts_enabled)
        if self.settings.grpc_port and self.settings.ingest_enabled:  # gRPC is ingest only
            self._grpc = start_grpc_server(
                self.ingestor,
                self.authorizer,
                self.settings.host,
                self.settings.grpc_port,
                self.settings.max_body_bytes,
                max_inflight=_MAX_INFLIGHT,
            )
            self.grpc_port = self._grpc.bound_port
        proxies = self.settings.trusted_proxies.strip()
        config = uvicorn.Config(
            serving_app(self.app, access_log=self.settings.access_log),
            host=self.settings.host,
            port=self.settings.port,
            log_level=self.settings.log_level,
            # logging is the CLI's to configure: uvicorn's dictConfig would flush and replace every
            # handler in the process (an OpenTelemetry LoggingHandler's flush can deadlock there)
            log_config=None,
            access_log=False,
            lifespan="off",
            # X-Forwarded-For only from configured proxies (uvicorn trusts loopback by default)
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
        self._http = uvicorn.Server(config)
        self._http_thread = threading.Thread(target=self._serve_http, name="http", daemon=True)
        self._http_thread.start()
        deadline = time.monotonic() + 30
        while not self._http.started:
            if not self._http_thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError(
                    f"HTTP server failed to start on {self.settings.host}:{self.settings.port} (the log says why)"
                )
            time.sleep(0.02)
        self.http_port = self._http.servers[0].sockets[0].getsockname()[1]

    def _serve_http(self) -> None:
        assert self._http is not None
        try:
            self._http.run()
        except SystemExit:  # uvicorn exits when it cannot start (a port in use): start() raises instead
            log.debug("the HTTP server did not start")

    def _maintain_keys(self) -> None:
        """Reload keys (revocations by another process sharing a server), persist last-use times, and
        store the keys handed in by the CLI (checked every second: the CLI waits for the answer)."""
        last_flush = last_reload = time.monotonic()
        while not self._stopping.wait(_KEY_INBOX_S):
            self._take_handed_keys()
            if time.monotonic() - last_reload < _KEY_RELOAD_S:
                continue
            last_reload = time.monotonic()
            try:
                if time.monotonic() - last_flush >= _KEY_USE_FLUSH_S:
                    self.keys.flush_usage()
                    last_flush = time.monotonic()
                self.keys.reload()
            except Exception:  # a storage hiccup must not end the thread; the next round retries
                log.warning("could not reload API keys or record their use", exc_info=True)

    def _take_handed_keys(self) -> None:
        if self.key_inbox is None:
            return
        try:
            for record in self.key_inbox.claim():
                try:
                    self.keys.add(record)
                except Exception as exc:  # the CLI reports it; the next key may work
                    self.key_inbox.answer(record.key_id, str(exc) or type(exc).__name__)
                else:
                    self.key_inbox.answer(record.key_id)
                    log.info("stored API key %s (%s) handed in by the CLI", record.key_id, record.role)
        except OSError:
            log.warning("could not read the key inbox %s", self.key_inbox.root, exc_info=True)

    def _settle_calls(self) -> None:
        """Settle touched calls into their records when due (CallRecords.settle_due; reads settle on
        demand); first, price the calls again if the catalogue or the prices file changed since they
        were priced."""
        try:
            self.call_records.reprice_if_prices_changed()
        except Exception:  # the next start tries again; new calls are priced right meanwhile
            log.warning("could not price the calls again after a price change", exc_info=True)
        pruned_at = 0.0
        while not self._stopping.wait(_SETTLE_S):
            try:
                self.call_records.prices.refresh_if_changed()  # a price another replica set
                self.call_records.settle_due(_SETTLE_MAX_DELAY_S, _SETTLE_TOUCHES)
            except Exception:  # a storage hiccup must not end the thread; the next round retries
                log.warning("could not settle call records", exc_info=True)
            if time.monotonic() - pruned_at >= _PRUNE_S:
                pruned_at = time.monotonic()
                try:  # recordings go with their calls' records (the usage retention)
                    self.recordings.prune(self.settings.retention_days_usage)
                except OSError:
                    log.warning("could not delete expired recordings", exc_info=True)

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
        self.ingest_gate.close()
        self.batcher.stop()
        self._stopping.set()
        self.alerts.stop()
        # background rounds use storage: they end before it is released
        for thread in (self._settle_thread, self._key_thread):
            if thread.is_alive():
                thread.join(60)
        self.monitor.stop()
        try:
            self.keys.flush_usage()
        except Exception:
            log.warning("could not record API key use", exc_info=True)
        self.storage.close()

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.http_port}"

    def listening(self) -> Listening:
        """The address and ports bound (for the web UI's guide to connecting)."""
        return Listening(self.settings.host, self.http_port, self.grpc_port)
