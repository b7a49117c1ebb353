"""CLI: `livekit-dashboard serve | demo | migrate | export | import | keys`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from livekit_dashboard import __version__
from livekit_dashboard.config import Settings
from livekit_dashboard.logconfig import configure_logging

__all__ = ["app", "main"]

app = typer.Typer(
    name="livekit-dashboard",
    help="Self-hosted observability for LiveKit voice agents: OTLP in, dashboards out.",
    no_args_is_help=True,
    add_completion=False,
)


def _default(name: str) -> str:
    """A setting's default as --help shows it (options left out fall back to the environment variable,
    then to this default)."""
    default = Settings.model_fields[name].default
    return "none" if default in ("", None) else str(default)


DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (env LIVEKIT_DASHBOARD_DATA_DIR).", show_default=_default("data_dir")
    ),
]
HostOpt = Annotated[
    str | None,
    typer.Option("--host", help="Bind address (env LIVEKIT_DASHBOARD_HOST).", show_default=_default("host")),
]
PortOpt = Annotated[
    int | None,
    typer.Option(
        "--port", help="HTTP port: UI, API, OTLP/HTTP (env LIVEKIT_DASHBOARD_PORT).", show_default=_default("port")
    ),
]
GrpcPortOpt = Annotated[
    int | None,
    typer.Option(
        "--grpc-port",
        help="OTLP/gRPC port, 0 disables (env LIVEKIT_DASHBOARD_GRPC_PORT).",
        show_default=_default("grpc_port"),
    ),
]
DsnOpt = Annotated[
    str | None,
    typer.Option(
        "--storage-dsn",
        help="chdb:///path or http(s)://host:8123 instead of --data-dir (env LIVEKIT_DASHBOARD_STORAGE_DSN).",
        show_default=_default("storage_dsn"),
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="ClickHouse cluster to lay the tables out on, sharded and Distributed; see docs/scaling.md "
        "(env LIVEKIT_DASHBOARD_CLUSTER).",
        show_default=_default("cluster"),
    ),
]

PricesOpt = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        help="TOML file of your own prices, docs/cost.md (env LIVEKIT_DASHBOARD_PRICES_FILE).",
        show_default=_default("prices_file"),
    ),
]
AlertsOpt = Annotated[
    Path | None,
    typer.Option(
        "--alerts",
        help="YAML file of alert rules, docs/alerts.md (env LIVEKIT_DASHBOARD_ALERTS_FILE).",
        show_default=_default("alerts_file"),
    ),
]
AccessLogOpt = Annotated[
    bool,
    typer.Option(
        "--access-log",
        help="Log each HTTP request: method, path, status, duration (env LIVEKIT_DASHBOARD_ACCESS_LOG).",
        show_default=False,
    ),
]
LogFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--log-format",
        help="text, or json: one JSON object per line on stderr (env LIVEKIT_DASHBOARD_LOG_FORMAT).",
        show_default=_default("log_format"),
    ),
]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"livekit-dashboard {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    pass


def _settings(**overrides: Any) -> Settings:
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except Exception as exc:  # pydantic's message lists each bad setting
        _fail(f"invalid settings: {exc}")
        raise  # unreachable; keeps type checkers calm


def _fail(message: str) -> None:
    typer.echo(f"livekit-dashboard: error: {message}", err=True)
    raise typer.Exit(2)


def _open_server(settings: Settings) -> Any:
    from livekit_dashboard.domain.prices import PriceError
    from livekit_dashboard.server import DashboardServer
    from livekit_dashboard.store import StorageError

    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    try:
        server = DashboardServer(settings)
        server.start_background()
    except (StorageError, PriceError, ValueError) as exc:  # ValueError: settings that do not fit together
        _fail(str(exc))
    except OSError as exc:
        _fail(str(exc))
    return server


def _announce(server: Any, ui_range: str = "") -> None:
    """The startup banner: storage, URLs (the UI's on a range that holds the data, when given), keys."""
    from livekit_dashboard.keys_cli import banner_lines

    url = server.base_url
    typer.echo(f"livekit-dashboard {__version__}: storage {server.engine.description}")
    typer.echo(f"  web UI          {url}/{f'?{ui_range}' if ui_range else ''}")
    if not server.settings.ingest_enabled:
        typer.echo("  OTLP/HTTP       disabled (--no-ingest: this server only serves the UI and API)")
    else:
        typer.echo(f"  OTLP/HTTP       {url}/v1/traces  /v1/logs  /v1/metrics")
    if server.grpc_port:
        typer.echo(f"  OTLP/gRPC       {server.settings.host}:{server.grpc_port}")
    else:
        typer.echo("  OTLP/gRPC       disabled")
    typer.echo(f"  API docs        {url}/docs")
    for line in banner_lines(server.settings, server.keys, server.authorizer.required):
        typer.echo(line)


def _run_until_signal(server: Any) -> None:
    def _stop(signum: int, frame: Any) -> None:
        server.request_stop()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.wait()
    finally:
        if server.settings.log_format == "json":  # stderr carries JSON lines only
            logging.getLogger("livekit_dashboard").info("stopping (writing queued data)")
        else:
            typer.echo("livekit-dashboard: stopping (writing queued data)", err=True)
        server.stop()


@app.command()
def serve(
    data_dir: DataDirOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    grpc_port: GrpcPortOpt = None,
    storage_dsn: DsnOpt = None,
    cluster: ClusterOpt = None,
    prices: PricesOpt = None,
    alerts: AlertsOpt = None,
    access_log: AccessLogOpt = False,
    log_format: LogFormatOpt = None,
    no_ingest: Annotated[
        bool,
        typer.Option(
            "--no-ingest",
            help="Serve the UI and API only: no OTLP (503), no gRPC, no write-ahead log; for a replica over "
            "storage others fill (env LIVEKIT_DASHBOARD_INGEST_ENABLED=false).",
            show_default=False,
        ),
    ] = False,
) -> None:
    """Serve the web UI, the JSON API and OTLP (HTTP and gRPC) on one process."""
    settings = _settings(
        data_dir=data_dir,
        host=host,
        port=port,
        grpc_port=grpc_port,
        storage_dsn=storage_dsn,
        cluster=cluster,
        prices_file=prices,
        alerts_file=alerts,
        access_log=access_log or None,  # left out: the environment decides
        log_format=log_format,
        ingest_enabled=False if no_ingest else None,
    )
    server = _open_server(settings)
    _announce(server)
    _run_until_signal(server)


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Data directory for the demo data.")] = Path(
        "livekit-dashboard-demo-data"
    ),
    host: HostOpt = None,
    port: PortOpt = None,
    grpc_port: GrpcPortOpt = None,
    calls: Annotated[int, typer.Option(help="Calls (conversations) to generate.", min=1)] = 400,
    days: Annotated[float, typer.Option(help="Spread the calls over the last DAYS days.", min=0.01)] = 7.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
    exit_after_load: Annotated[bool, typer.Option(help="Stop once the demo data is loaded.")] = False,
    access_log: AccessLogOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """The same server, pre-filled with realistic LiveKit voice-agent telemetry."""
    from livekit_dashboard.demo import DemoConfig, generate
    from livekit_dashboard.query import count_spans

    settings = _settings(
        data_dir=data_dir,
        host=host,
        port=port,
        grpc_port=grpc_port,
        access_log=access_log or None,
        log_format=log_format,
    )
    server = _open_server(settings)
    existing = count_spans(server.engine)
    _announce(server, _demo_range(server.engine, days, existing))
    if existing:
        typer.echo(f"demo data already present ({existing} spans); delete {data_dir} to regenerate", err=True)
    else:
        config = DemoConfig(calls=calls, days=days, seed=seed)
        loader = threading.Thread(target=_load_demo, args=(generate, config, server.base_url), name="demo", daemon=True)
        loader.start()
        if exit_after_load:
            loader.join()
    if exit_after_load:
        server.stop()
        return
    _run_until_signal(server)


_PRESETS = ((3600, "now-1h"), (6 * 3600, "now-6h"), (86400, "now-24h"), (7 * 86400, "now-7d"), (30 * 86400, "now-30d"))


def _demo_range(engine: Any, days: float, existing: int) -> str:
    """The web UI's range for the demo data: the days it is spread over (the shortest preset that holds
    them), or, for data generated earlier, a range that holds what is stored."""
    import datetime
    import time

    from livekit_dashboard.query import data_extent

    # data about to be generated spans exactly `days` back from now; data stored earlier keeps ageing,
    # so its range leaves a minute's margin
    now_s = time.time()
    oldest_s, newest_s, margin_s = now_s - days * 86400, now_s, 0
    if existing:
        extent = data_extent(engine)
        if extent["empty"]:
            return ""
        oldest_s, newest_s = extent["oldest_unix_nano"] / 1e9, extent["newest_unix_nano"] / 1e9
        margin_s = 60
    reach_s = now_s - oldest_s
    for length_s, preset in _PRESETS:
        if length_s >= reach_s + margin_s:
            return f"start={preset}"

    def iso(seconds: float) -> str:
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:00Z")

    return f"start={iso(oldest_s - 60)}&end={iso(newest_s + 120)}"


def _load_demo(generate: Any, config: Any, endpoint: str) -> None:
    try:
        summary = generate(config, endpoint, progress=True)
    except Exception as exc:
        typer.echo(f"livekit-dashboard: demo data failed: {exc}", err=True)
        return
    typer.echo(
        f"demo data loaded: {summary.calls} calls, {summary.spans} spans, {summary.logs} logs, "
        f"{summary.metric_points} metric points",
        err=True,
    )


@app.command()
def migrate(data_dir: DataDirOpt = None, storage_dsn: DsnOpt = None, cluster: ClusterOpt = None) -> None:
    """Create or upgrade the tables, then exit (on a cluster: on every node, with ON CLUSTER DDL)."""
    from livekit_dashboard.store import StorageError, apply_migrations

    settings = _settings(data_dir=data_dir, storage_dsn=storage_dsn, cluster=cluster)
    layout = settings.storage_cluster()
    try:
        engine = settings.open_storage()
        try:
            applied = apply_migrations(engine, layout, lambda m: typer.echo(f"applying {m.announcement}", err=True))
        finally:
            engine.close()
    except StorageError as exc:
        _fail(str(exc))
        return
    names = ", ".join(map(str, applied)) or "none (up to date)"
    typer.echo(f"migrations applied: {names}")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (created; must be new or empty).")],
    data_dir: DataDirOpt = None,
    storage_dsn: DsnOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Write the stored data (raw tables, what the application wrote, call recordings) to a folder of
    Parquet files and a manifest, for `import` into another store (docs/configuration.md, "Moving data")."""
    from livekit_dashboard.transfer_cli import TransferCommandError, run_export

    try:
        typer.echo(run_export(_settings(data_dir=data_dir, storage_dsn=storage_dsn, cluster=cluster), out))
    except TransferCommandError as exc:
        _fail(str(exc))


@app.command("import")
def import_(
    folder: Annotated[Path, typer.Argument(help="A folder `livekit-dashboard export` wrote.")],
    data_dir: DataDirOpt = None,
    storage_dsn: DsnOpt = None,
    cluster: ClusterOpt = None,
    append: Annotated[
        bool,
        typer.Option(
            "--append",
            help="Import into a database that already holds data; a re-run of the same import adds nothing.",
        ),
    ] = False,
) -> None:
    """Load an export into a migrated database (empty unless --append); the derived tables fill from the
    raw rows as they are inserted."""
    from livekit_dashboard.transfer_cli import TransferCommandError, run_import

    try:
        settings = _settings(data_dir=data_dir, storage_dsn=storage_dsn, cluster=cluster)
        typer.echo(run_import(settings, folder, append=append))
    except TransferCommandError as exc:
        _fail(str(exc))


keys_app = typer.Typer(
    help="Manage API keys in the storage of --data-dir / --storage-dsn (create also while a server runs on it)."
)
app.add_typer(keys_app, name="keys")


def _key_store(data_dir: Path | None, storage_dsn: str | None) -> tuple[Any, Any]:
    from livekit_dashboard.keys_cli import while_held
    from livekit_dashboard.store import DataDirInUseError, KeyStore, StorageError, apply_migrations

    settings = _settings(data_dir=data_dir, storage_dsn=storage_dsn)
    try:
        layout = settings.storage_cluster()
        engine = settings.open_storage()
        apply_migrations(engine, layout)
        return engine, KeyStore(engine)
    except DataDirInUseError as exc:
        _fail(f"{exc}; {while_held(settings)}")
        raise
    except StorageError as exc:
        _fail(str(exc))
        raise


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. prod-worker.")],
    role: Annotated[str, typer.Option(help="super-admin, viewer or ingest.")],
    data_dir: DataDirOpt = None,
    storage_dsn: DsnOpt = None,
) -> None:
    """Create a key and print it once (only its hash is stored). While a server holds the data
    directory, the key is handed to that server, which accepts it at once."""
    from livekit_dashboard.keys_cli import KeyCommandError, create_key

    settings = _settings(data_dir=data_dir, storage_dsn=storage_dsn)
    try:
        created = create_key(settings, name, role)
    except KeyCommandError as exc:
        _fail(str(exc))
        raise
    held = ""
    if created.handed_to:
        held = f"; handed to the server holding it (pid {created.handed_to}), which accepts it now"
    typer.echo(f"storage: {created.storage}{held}")
    for warning in created.warnings:
        typer.echo(f"livekit-dashboard: warning: {warning}", err=True)
    record = created.record
    typer.echo(f"created key {record.key_id} ({record.role}, {record.name}); store it now, it is not shown again:")
    typer.echo(created.plaintext)


@keys_app.command("list")
def keys_list(data_dir: DataDirOpt = None, storage_dsn: DsnOpt = None) -> None:
    """List keys: id, role, name, created, last used, revoked."""
    import datetime

    engine, keys = _key_store(data_dir, storage_dsn)
    try:
        records = keys.list()
    finally:
        engine.close()

    def when(ms: int | None) -> str:
        if not ms:
            return "-"
        return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M")

    typer.echo(f"{'id':<12} {'role':<12} {'created':<17} {'last used':<17} {'revoked':<17} name")
    for k in records:
        typer.echo(
            f"{k.key_id:<12} {k.role:<12} {when(k.created_at_ms):<17} {when(k.last_used_at_ms):<17} "
            f"{when(k.revoked_at_ms):<17} {k.name}"
        )


@keys_app.command("revoke")
def keys_revoke(key_id: str, data_dir: DataDirOpt = None, storage_dsn: DsnOpt = None) -> None:
    """Revoke a key by id; requests with it fail from now on."""
    engine, keys = _key_store(data_dir, storage_dsn)
    try:
        record = keys.revoke(key_id)
    finally:
        engine.close()
    if record is None:
        _fail(f"no key with id {key_id!r}")
    typer.echo(f"revoked key {key_id}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
