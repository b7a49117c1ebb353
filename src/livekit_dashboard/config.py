"""Settings: every option of the server, from CLI flags or LIVEKIT_DASHBOARD_* environment variables.

Read only at the edges (cli and the composition root, server.py); everything below receives plain values.
Each field is documented in docs/configuration.md (a test keeps the two in step).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from livekit_dashboard.store import Engine, chdb_path, open_engine
from livekit_dashboard.store.cluster import Cluster
from livekit_dashboard.store.engine import DEFAULT_READ_CACHE_MB

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEKIT_DASHBOARD_", extra="ignore")

    data_dir: Path = Field(Path("livekit-dashboard-data"), description="Where embedded chDB keeps its data.")
    storage_dsn: str = Field(
        "",
        description="Storage to use instead of --data-dir: chdb:///abs/path or http(s)://user:pass@host:8123.",
    )
    database: str = Field("otel", description="ClickHouse database holding the tables.")
    cluster: str = Field(
        "",
        description="A ClickHouse cluster (its remote_servers name) to lay the tables out on: sharded local "
        "tables and Distributed tables over them (docs/scaling.md). Empty: one server or embedded.",
    )
    cluster_keeper: bool = Field(
        True,
        description="With --cluster: Replicated local tables and ON CLUSTER DDL (needs ClickHouse Keeper). "
        "Off: plain local tables and DDL on the node it is sent to, for a one-shard cluster without Keeper.",
    )
    read_cache_mb: int = Field(
        DEFAULT_READ_CACHE_MB,
        ge=0,
        description="Memory (MB) the embedded engine keeps for decompressed data the panels read again "
        "(ClickHouse's uncompressed cache); 0 = none. A ClickHouse server keeps its own setting.",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP and gRPC servers bind to.")
    port: int = Field(4318, ge=1, le=65535, description="Port for the web UI, JSON API and OTLP/HTTP.")
    grpc_port: int = Field(4317, ge=0, le=65535, description="Port for OTLP/gRPC; 0 disables gRPC.")
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest OTLP request accepted, before and after gunzip."
    )
    queue_max_rows: int = Field(
        200_000, ge=1, description="Rows waiting for storage before ingest answers 503 / UNAVAILABLE."
    )
    queue_wait_ms: int = Field(
        1000, ge=0, le=30_000, description="How long a request waits for room in a full queue before a 503."
    )
    batch_max_rows: int = Field(50_000, ge=1, description="Most rows written by one insert (group commit).")
    flush_interval_ms: int = Field(
        1000,
        ge=0,
        le=10_000,
        description="How long the writer waits to gather requests into one insert (a read waiting for them ends it).",
    )
    decode_in_engine: bool = Field(
        False,
        description="Embedded engine: large batches of protobuf trace requests decoded by chDB, not Python "
        "(request p99 lower; time to visible and memory under saturating load higher).",
    )
    log_level: str = Field("info", description="Server log level: debug, info, warning or error.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines on stderr: text, or json (one JSON object per line, for log shippers)."
    )
    access_log: bool = Field(
        False, description="Log every HTTP request: client, method, path, status and duration (off by default)."
    )
    auth: Literal["auto", "required", "disabled"] = Field(
        "auto",
        description="Keys for the dashboard, read APIs and ingest: auto = only when not bound to loopback.",
    )
    admin_key: SecretStr = Field(
        SecretStr(""), description="A super-admin API key created (or kept) at start, for scripted setups."
    )

    min_free_disk_mb: int = Field(
        256, ge=0, description="Ingest answers 503 while the data or write-ahead log volume has less free space."
    )
    wal_fsync: bool = Field(
        False, description="fsync the write-ahead log before acknowledging (survives power loss; costs throughput)."
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated proxy addresses whose X-Forwarded-For is believed; empty: none."
    )
    failed_keys_per_minute: int = Field(
        20, ge=1, description="Wrong API keys one address may send per minute before getting 429."
    )
    retention_days_traces: int = Field(
        30, ge=0, description="Days to keep spans (and the LiveKit tables); 0 = forever."
    )
    retention_days_logs: int = Field(30, ge=0, description="Days to keep log records; 0 = forever.")
    retention_days_metrics: int = Field(90, ge=0, description="Days to keep metric points; 0 = forever.")
    retention_days_usage: int = Field(90, ge=0, description="Days to keep posted usage records and usage counters.")
    livekit_api_key: str = Field(
        "",
        description="LiveKit API key(s) whose tokens may upload (comma-separated); empty: LIVEKIT_API_KEY.",
    )
    livekit_api_secret: SecretStr = Field(
        SecretStr(""),
        description="The matching secret(s), in the same order; empty: LIVEKIT_API_SECRET.",
    )
    prices_file: Path | None = Field(
        None, description="A TOML file of your own prices ([[price]] tables; docs/cost.md), read at start."
    )
    alerts_file: Path | None = Field(
        None, description="A YAML file of alert rules (alerts as code; docs/alerts.md), read at start."
    )
    alert_interval_s: float = Field(30.0, ge=0.2, le=3600, description="Seconds between alert evaluations.")
    alerts_enabled: bool = Field(
        True,
        description="Evaluate the alert rules on this server. With several replicas on one cluster, leave it on "
        "for one of them, or each notifies.",
    )
    public_url: str = Field(
        "", description="This server's address as its users reach it, for links in alerts; empty: host and port."
    )
    ingest_enabled: bool = Field(
        True,
        description="Take in data (OTLP/HTTP, OTLP/gRPC, uploads); off (serve --no-ingest): serve the UI and API "
        "only, for a replica over storage others fill. Ingest then answers 503.",
    )

    def livekit_keys(self) -> dict[str, str]:
        """LiveKit API key -> secret pairs whose tokens may upload (the standard LIVEKIT_API_KEY /
        LIVEKIT_API_SECRET when none are given). ValueError when keys and secrets do not pair up."""
        keys, secrets = self.livekit_api_key, self.livekit_api_secret.get_secret_value()
        if not keys and not secrets:
            keys, secrets = os.environ.get("LIVEKIT_API_KEY", ""), os.environ.get("LIVEKIT_API_SECRET", "")
        names = [k.strip() for k in keys.split(",") if k.strip()]
        values = [v.strip() for v in secrets.split(",") if v.strip()]
        if len(names) != len(values):
            raise ValueError(
                f"{len(names)} LiveKit API key(s) but {len(values)} secret(s): give one secret per key, in order"
            )
        return dict(zip(names, values, strict=True))

    def auth_required(self) -> bool:
        """Whether dashboard, read and ingest routes need a key (admin routes always do)."""
        if self.auth != "auto":
            return self.auth == "required"
        return self.host not in ("127.0.0.1", "localhost", "::1") and not self.host.startswith("127.")

    def wal_dir(self) -> Path:
        """The write-ahead log of ingest: beside the chDB data, or under data_dir for a server DSN."""
        base = chdb_path(self.resolved_dsn()) or self.data_dir.expanduser().resolve()
        return base / "livekit-dashboard-wal" / self.database

    def recordings_dir(self) -> Path:
        """Call recordings (audio uploaded with a session): beside the write-ahead log."""
        base = chdb_path(self.resolved_dsn()) or self.data_dir.expanduser().resolve()
        return base / "livekit-dashboard-recordings" / self.database

    def storage_cluster(self) -> Cluster | None:
        """The cluster layout the tables use, or None on one node."""
        if not self.cluster:
            return None
        return Cluster(self.cluster, self.database, replicated=self.cluster_keeper, on_cluster=self.cluster_keeper)

    def open_storage(self) -> Engine:
        """The storage these settings name, each statement run with the cluster's settings if any."""
        cluster = self.storage_cluster()
        return open_engine(
            self.resolved_dsn(),
            self.database,
            settings=cluster.settings if cluster else None,
            read_cache_mb=self.read_cache_mb,
        )

    def resolved_dsn(self) -> str:
        """The storage DSN: storage_dsn when set, else chDB on data_dir (made absolute)."""
        if self.storage_dsn:
            return self.storage_dsn
        return f"chdb://{self.data_dir.expanduser().resolve()}"
