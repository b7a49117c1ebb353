"""API keys: create, list, revoke and verify keys with roles; only SHA-256 hashes are stored.

A key looks like `lkd_<id>_<secret>`: the id finds the record, the hash of the whole key is compared
in constant time. A bootstrap key from the environment may be any string; it is stored under the
id `bootstrap`. Verification reads an in-memory copy (refreshed on every change and every few
seconds, so a revocation by another process sharing a ClickHouse server also takes effect).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from livekit_dashboard.domain.roles import Role
from livekit_dashboard.store.engine import Engine

__all__ = ["ApiKey", "KeyStore", "is_generated_key", "new_key"]

_KEY = re.compile(r"^lkd_([0-9a-f]{10})_[A-Za-z0-9_-]{20,}$")
_ID = re.compile(r"^[0-9a-f]{10}$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_BOOTSTRAP = "bootstrap"
_REFRESH_S = 5.0


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    role: Role
    secret_hash: str
    created_at_ms: int
    last_used_at_ms: int | None
    revoked_at_ms: int | None

    @property
    def active(self) -> bool:
        return self.revoked_at_ms is None

    def public(self) -> dict[str, Any]:
        """What the API and CLI show: never the hash, never the key."""
        return {
            "id": self.key_id,
            "name": self.name,
            "role": self.role,
            "created_at_ms": self.created_at_ms,
            "last_used_at_ms": self.last_used_at_ms,
            "revoked": not self.active,
            "revoked_at_ms": self.revoked_at_ms,
        }


def is_generated_key(secret: str) -> bool:
    """Whether a secret has the form of a key this store generates (`lkd_<id>_<secret>`, 144 random
    bits: not guessable), as opposed to a bootstrap key a person chose."""
    return _KEY.match(secret) is not None


def new_key(name: str, role: str) -> tuple[ApiKey, str]:
    """A new key's record (with the hash of its secret) and the key itself, shown once and never stored."""
    if role not in Role.__members__.values():
        raise ValueError(f"role must be one of {', '.join(Role)}, got {role!r}")
    if not name.strip() or len(name) > 200:
        raise ValueError("name must be 1 to 200 characters")
    key_id = secrets.token_hex(5)
    plaintext = f"lkd_{key_id}_{secrets.token_urlsafe(24)}"
    return ApiKey(key_id, name.strip(), Role(role), _hash(plaintext), _now_ms(), None, None), plaintext


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._loaded_at = 0.0
        self._used: dict[str, int] = {}  # key id -> last use (ms), written by flush_usage()
        self.reload()

    def reload(self) -> None:
        rows = self._engine.query(
            "SELECT KeyId, Name, Role, SecretHash, toUnixTimestamp64Milli(CreatedAt) AS created, "
            "toUnixTimestamp64Milli(LastUsedAt) AS used, toUnixTimestamp64Milli(RevokedAt) AS revoked "
            "FROM livekit_dashboard_api_keys FINAL ORDER BY CreatedAt"
        )
        keys = {
            r["KeyId"]: ApiKey(
                r["KeyId"], r["Name"], Role(r["Role"]), r["SecretHash"], r["created"], r["used"], r["revoked"]
            )
            for r in rows
            if r["Role"] in Role.__members__.values()
        }
        with self._lock:
            self._keys = keys
            self._loaded_at = time.monotonic()

    def _write(self, key: ApiKey) -> None:
        self._engine.command(
            "INSERT INTO livekit_dashboard_api_keys (KeyId, Version, Name, Role, SecretHash, CreatedAt, LastUsedAt, "
            "RevokedAt) VALUES ({id:String}, {version:UInt64}, {name:String}, {role:String}, {hash:String}, "
            "fromUnixTimestamp64Milli({created:Int64}), "
            "if({used:Int64} = 0, NULL, fromUnixTimestamp64Milli({used:Int64})), "
            "if({revoked:Int64} = 0, NULL, fromUnixTimestamp64Milli({revoked:Int64})))",
            {
                "id": key.key_id,
                "version": time.time_ns(),
                "name": key.name,
                "role": key.role,
                "hash": key.secret_hash,
                "created": key.created_at_ms,
                "used": key.last_used_at_ms or 0,
                "revoked": key.revoked_at_ms or 0,
            },
        )
        self.reload()

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        """A new key; the plaintext is returned here once and never stored."""
        record, plaintext = new_key(name, role)
        self._write(record)
        return record, plaintext

    def add(self, record: ApiKey) -> None:
        """Store a key made elsewhere by new_key() (handed to a running server: only its hash travels).
        ValueError for a record new_key() could not have made, or an id already taken."""
        if not _ID.match(record.key_id) or not _HASH.match(record.secret_hash) or record.role not in Role:
            raise ValueError("not a key record made by new_key()")
        if not record.name.strip() or len(record.name) > 200 or record.revoked_at_ms is not None:
            raise ValueError("not a key record made by new_key()")
        self.reload()
        if record.key_id in self._keys:
            raise ValueError(f"a key with id {record.key_id} exists already")
        self._write(replace(record, last_used_at_ms=None))

    def ensure_bootstrap(self, plaintext: str) -> ApiKey:
        """Make the environment's admin key a super-admin key (replacing an earlier bootstrap key)."""
        if len(plaintext) < 16:
            raise ValueError("LIVEKIT_DASHBOARD_ADMIN_KEY must be at least 16 characters")
        existing = self._keys.get(_BOOTSTRAP)
        digest = _hash(plaintext)
        if existing and existing.active and hmac.compare_digest(existing.secret_hash, digest):
            return existing
        record = ApiKey(
            _BOOTSTRAP, "bootstrap (LIVEKIT_DASHBOARD_ADMIN_KEY)", Role.SUPER_ADMIN, digest, _now_ms(), None, None
        )
        self._write(record)
        return record

    def list(self) -> list[ApiKey]:
        self._refresh_if_stale()
        with self._lock:
            return [self._with_use(k) for k in self._keys.values()]

    def revoke(self, key_id: str) -> ApiKey | None:
        self.reload()
        key = self._keys.get(key_id)
        if key is None:
            return None
        if key.active:
            key = replace(key, revoked_at_ms=_now_ms())
            self._write(key)
        return key

    def verify(self, plaintext: str) -> ApiKey | None:
        """The active key this plaintext is, or None; records its use. Reads only memory (reload()
        runs every few seconds from the server's key thread, and after every change)."""
        match = _KEY.match(plaintext)
        key_id = match.group(1) if match else _BOOTSTRAP
        with self._lock:
            key = self._keys.get(key_id)
        candidate = key.secret_hash if key else _hash("")
        matches = hmac.compare_digest(candidate, _hash(plaintext))
        if key is None or not matches or not key.active:
            return None
        with self._lock:
            self._used[key.key_id] = _now_ms()
        return key

    def flush_usage(self) -> None:
        """Persist last-used times (batched, so verifying a key costs no write)."""
        with self._lock:
            used, self._used = self._used, {}
        for key_id, when in used.items():
            key = self._keys.get(key_id)
            if key is not None:
                self._write(replace(key, last_used_at_ms=when))

    def _with_use(self, key: ApiKey) -> ApiKey:
        used = self._used.get(key.key_id)
        return replace(key, last_used_at_ms=used) if used else key

    def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at > _REFRESH_S:
            self.reload()
