"""Key inbox: API keys handed to a running server by `livekit-dashboard keys create`, which cannot open
a chDB data directory while that server holds it (chDB: one process per directory).

The CLI makes the key, writes its record (the hash of the key, never the key) as `<id>.key` into the
inbox beside the data, and waits; the server's key thread claims the file (renames it), stores the
record and answers with `<id>.stored` (or `<id>.failed` holding why); the CLI then prints the key. A
record the server did not claim in time is withdrawn (unlinked) by the CLI, so nobody stores a key
whose secret nobody was shown. Only who can write the data directory can hand a key in: the people
who could as well stop the server and create the key directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

from livekit_dashboard.domain.roles import Role
from livekit_dashboard.store.api_keys import ApiKey

__all__ = ["KeyInbox"]

_FOLDER = "livekit-dashboard-keys"
_ID = re.compile(r"^[0-9a-f]{10}$")


class KeyInbox:
    """The inbox of one database's keys in a chDB data directory."""

    def __init__(self, data_dir: Path, database: str) -> None:
        self.root = data_dir / _FOLDER / database

    # the CLI's side

    def post(self, record: ApiKey) -> None:
        """Hand a key's record in (written whole: temporary name, fsync, rename)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = json.dumps(
            {
                "id": record.key_id,
                "name": record.name,
                "role": str(record.role),
                "secret_hash": record.secret_hash,
                "created_at_ms": record.created_at_ms,
            }
        ).encode()
        tmp = self.root / f".{record.key_id}.{os.getpid()}.tmp"
        with open(tmp, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.root / f"{record.key_id}.key")

    def outcome(self, key_id: str) -> tuple[bool, str] | None:
        """(True, "") once the server stored the key, (False, why) when it could not; None while it
        has not answered. An answer is read once (its file is removed)."""
        for suffix, stored in ((".stored", True), (".failed", False)):
            path = self.root / f"{key_id}{suffix}"
            try:
                why = path.read_text(errors="replace").strip()
            except FileNotFoundError:
                continue
            path.unlink(missing_ok=True)
            return stored, why
        return None

    def withdraw(self, key_id: str) -> bool:
        """Take back a record the server has not claimed (True); False when it already has."""
        try:
            (self.root / f"{key_id}.key").unlink()
        except FileNotFoundError:
            return False
        return True

    # the server's side

    def claim(self) -> list[ApiKey]:
        """The records handed in, each claimed (so no withdrawal can race its storing); answer each
        with answer(). A file that is no record is answered as failed at once."""
        try:
            names = sorted(p.name for p in self.root.iterdir() if p.name.endswith(".key"))
        except FileNotFoundError:
            return []
        claimed = []
        for name in names:
            key_id = name.removesuffix(".key")
            if not _ID.match(key_id):
                continue
            path = self.root / f"{key_id}.claimed"
            try:
                os.rename(self.root / name, path)
            except FileNotFoundError:  # withdrawn meanwhile
                continue
            try:
                claimed.append(_record(key_id, json.loads(path.read_bytes())))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.answer(key_id, f"unreadable key record: {exc}")
        return claimed

    def answer(self, key_id: str, error: str = "") -> None:
        """Tell the CLI the key is stored (no error) or why not, and drop the claimed record."""
        answer = self.root / f"{key_id}{'.failed' if error else '.stored'}"
        tmp = self.root / f".{key_id}.answer.tmp"
        tmp.write_text(error)
        os.replace(tmp, answer)
        with contextlib.suppress(FileNotFoundError):
            (self.root / f"{key_id}.claimed").unlink()


def _record(key_id: str, body: dict[str, object]) -> ApiKey:
    if body["id"] != key_id:
        raise ValueError("the record's id is not its file's")
    return ApiKey(
        key_id,
        str(body["name"]),
        Role(str(body["role"])),
        str(body["secret_hash"]),
        int(str(body["created_at_ms"])),
        None,
        None,
    )
