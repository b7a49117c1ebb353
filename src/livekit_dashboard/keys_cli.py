"""What `livekit-dashboard keys create` and the startup banner know about keys, kept out of the traps a
first key falls into: a key written where no server looks (another data directory, a new empty one),
and a data directory a running server holds (chDB opens one per process).

- `create_key` writes to the storage the settings name and says which; when a server holds that chDB
  data directory, it hands the key to that server through the key inbox (store.KeyInbox), which takes
  it within a second or two: no restart. It notes a data directory it had to create, and a server
  answering on the configured port whose storage is another (its /readyz names its storage: open,
  no key needed, and the one place that says where a running server keeps its data).
- `banner_lines` tell, at start, whether keys are required and how to get the first super-admin key.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from livekit_dashboard.config import Settings
from livekit_dashboard.domain.roles import Role
from livekit_dashboard.store import (
    ApiKey,
    DataDirInUseError,
    KeyInbox,
    KeyStore,
    StorageError,
    apply_migrations,
    chdb_path,
    new_key,
)

__all__ = ["CreatedKey", "KeyCommandError", "banner_lines", "create_key", "running_server", "while_held"]

_HANDOFF_WAIT_S = 15.0
_PROBE_TIMEOUT_S = 1.0


class KeyCommandError(Exception):
    """The key could not be created; the message says what to do instead."""


@dataclass(slots=True)
class CreatedKey:
    record: ApiKey
    plaintext: str
    storage: str  # where it was written, as the server names its storage
    handed_to: str = ""  # the pid of the running server that took it ("" when written directly)
    warnings: list[str] = field(default_factory=list)


def while_held(settings: Settings) -> str:
    """What to do instead of the CLI while a server holds the data directory."""
    server = running_server(settings)
    path = chdb_path(settings.resolved_dsn())
    held_here = server is not None and server[1] == f"chdb://{path} (database {settings.database})"
    url = server[0] if server is not None and held_here else "http://<server>"
    return (
        "while a server holds the data directory, manage keys through it: "
        f"POST {url}/api/v1/keys with a super-admin key "
        '(curl -H "Authorization: Bearer <super-admin key>" -H "Content-Type: application/json" '
        f'-d \'{{"name": "worker", "role": "ingest"}}\' {url}/api/v1/keys), GET to list, '
        "DELETE /api/v1/keys/<id> to revoke; for the first super-admin key, start the server with "
        "LIVEKIT_DASHBOARD_ADMIN_KEY=<a secret of 16 or more characters>"
    )


def create_key(settings: Settings, name: str, role: str) -> CreatedKey:
    """Create a key in the storage the settings name (see the module docstring)."""
    try:
        record, plaintext = new_key(name, role)
    except ValueError as exc:
        raise KeyCommandError(str(exc)) from None
    path = chdb_path(settings.resolved_dsn())
    warnings = []
    if path is not None and not path.exists():
        warnings.append(
            f"{path} did not exist: this key is in a new, empty data directory; only a server started with "
            f"--data-dir {path} accepts it"
        )
    try:
        engine = settings.open_storage()
    except DataDirInUseError as exc:
        assert path is not None  # only a chDB data directory is held
        storage = f"chdb://{path} (database {settings.database})"
        handed_to = _hand_over(settings, KeyInbox(path, settings.database), record, exc.holder)
        return CreatedKey(record, plaintext, storage, handed_to=handed_to)
    except StorageError as exc:
        raise KeyCommandError(str(exc)) from None
    try:
        apply_migrations(engine, settings.storage_cluster())
        KeyStore(engine).add(record)
        storage = engine.description
    except (StorageError, ValueError) as exc:
        raise KeyCommandError(str(exc)) from None
    finally:
        engine.close()
    server = running_server(settings)
    if server is not None and server[1] != storage:
        url, elsewhere = server
        warnings.append(
            f"the livekit-dashboard server at {url} keeps its data in {elsewhere}, not where this key went: "
            "it will refuse this key. Create the key with the same --data-dir / --storage-dsn (and "
            "LIVEKIT_DASHBOARD_DATABASE) as that server: while it runs, the key is handed to it"
        )
    return CreatedKey(record, plaintext, storage, warnings=warnings)


def _hand_over(settings: Settings, inbox: KeyInbox, record: ApiKey, holder: str) -> str:
    """Hand a key to the server holding the data directory; its pid once it stored the key."""
    try:
        inbox.post(record)
    except OSError as exc:
        raise KeyCommandError(f"cannot write to the key inbox {inbox.root}: {exc}; {while_held(settings)}") from None
    deadline = time.monotonic() + _HANDOFF_WAIT_S
    while True:
        answer = inbox.outcome(record.key_id)
        if answer is not None:
            stored, why = answer
            if not stored:
                raise KeyCommandError(f"the server holding the data directory refused the key: {why}")
            return holder or "?"
        if time.monotonic() > deadline:
            if inbox.withdraw(record.key_id):
                raise KeyCommandError(
                    f"the process holding the data directory{f' (pid {holder})' if holder else ''} did not take "
                    f"the key in {_HANDOFF_WAIT_S:.0f} s (not a running server, or one older than this command); "
                    + while_held(settings)
                )
            deadline = time.monotonic() + _HANDOFF_WAIT_S  # claimed: it is being stored, wait for the answer
        time.sleep(0.1)


def _probe_url(settings: Settings) -> str:
    host = settings.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/readyz"


def running_server(settings: Settings) -> tuple[str, str] | None:
    """(URL, storage) of a livekit-dashboard server answering on the configured host and port, or None.
    /readyz is open and names the server's storage (503 when not ready still does)."""
    url = _probe_url(settings)
    try:
        with urllib.request.urlopen(url, timeout=_PROBE_TIMEOUT_S) as response:  # noqa: S310 (http only)
            body: Any = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("storage"), str):
        return None
    return url.removesuffix("/readyz"), body["storage"]


def banner_lines(settings: Settings, keys: KeyStore, required: bool) -> list[str]:
    """The startup banner's lines on keys: whether they are required, and the first super-admin key."""
    active = [k for k in keys.list() if k.active]
    admins = [k for k in active if k.role is Role.SUPER_ADMIN]
    if required:
        head = f"required: the UI, the read API and ingest need a key (bound to {settings.host})"
    else:
        head = (
            f"not required for the UI, reads and ingest (bound to {settings.host}); admin routes need a super-admin key"
        )
    lines = [f"  API keys        {head}"]
    if admins:
        lines.append(
            f"                  {len(active)} active key(s), {len(admins)} super-admin; manage them at /api/v1/keys"
        )
        return lines
    lines.append("                  no super-admin key yet; create the first one (it works at once, no restart):")
    lines.append(
        f"                    livekit-dashboard keys create --name admin --role super-admin{_storage_flags(settings)}"
    )
    lines.append("                  or start with LIVEKIT_DASHBOARD_ADMIN_KEY=<a secret of 16+ characters>")
    return lines


def _storage_flags(settings: Settings) -> str:
    """The `keys create` options that name this server's storage (a DSN's password is not printed)."""
    database = f" (with LIVEKIT_DASHBOARD_DATABASE={settings.database})" if settings.database != "otel" else ""
    path = chdb_path(settings.resolved_dsn())
    if path is not None:
        return f" --data-dir {_quoted(str(path))}{database}"
    return f' --storage-dsn "$LIVEKIT_DASHBOARD_STORAGE_DSN"{database}'


def _quoted(text: str) -> str:
    return text if all(c.isalnum() or c in "/._-+:@" for c in text) else "'" + text.replace("'", "'\\''") + "'"
