"""Auth: API keys with roles, sent as `Authorization: Bearer <key>` or `x-api-key: <key>`.

Admin analytics and key management always need a super-admin key. The dashboard, read APIs and
ingest need a key (viewer / ingest, or super-admin) only when the server requires keys.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.store import ApiKey, KeyStore

__all__ = ["AuthError", "FailedKeyLimiter", "key_from_headers", "require"]

READ_ROLES = ("viewer", "super-admin")
INGEST_ROLES = ("ingest", "super-admin")
ADMIN_ROLES = ("super-admin",)


class AuthError(Exception):
    """401 (no valid key), 403 (a valid key without the role) or 429 (too many wrong keys)."""

    def __init__(self, status: int, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


class FailedKeyLimiter:
    """Stops key guessing: after `limit` wrong keys from one client address within `window_s`, every
    request with a key from that address gets 429 (no key is checked) until the window has passed."""

    def __init__(self, limit: int = 20, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        horizon = self._clock() - self._window_s
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures

    def blocked_for_s(self, client: str) -> int:
        with self._lock:
            failures = self._recent(client)
            if len(failures) < self._limit:
                return 0
            return max(1, math.ceil(failures[0] + self._window_s - self._clock()))

    def record_failure(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self._clock())
            if len(self._failures) > 10_000:  # bound memory under a spray of addresses
                for stale in [c for c, f in self._failures.items() if not f][:5_000]:
                    del self._failures[stale]


def key_from_headers(headers: Any) -> str:
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return str(value[7:].strip())
    return str(headers.get("x-api-key", "").strip())


async def authenticate(request: Request, roles: tuple[str, ...]) -> ApiKey:
    keys: KeyStore = request.app.state.keys
    limiter: FailedKeyLimiter = request.app.state.failed_keys
    plaintext = key_from_headers(request.headers)
    if not plaintext:
        raise AuthError(401, "missing API key: send Authorization: Bearer <key> or x-api-key")
    client = request.client.host if request.client else "unknown"
    wait_s = limiter.blocked_for_s(client)
    if wait_s:
        raise AuthError(429, f"too many invalid API keys from this address; retry in {wait_s} s", wait_s)
    key = await run_in_threadpool(keys.verify, plaintext)
    if key is None:
        limiter.record_failure(client)
        raise AuthError(401, "invalid or revoked API key")
    if key.role not in roles:
        raise AuthError(403, f"this route needs a {' or '.join(roles)} key; this key's role is {key.role}")
    return key


def require(roles: tuple[str, ...], *, always: bool = False) -> Callable[[Request], Coroutine[Any, Any, ApiKey | None]]:
    """A route dependency: the caller's key must have one of `roles` (when keys are required)."""

    async def dependency(request: Request) -> ApiKey | None:
        if not always and not request.app.state.auth_required:
            return None
        return await authenticate(request, roles)

    return dependency
