"""Auth: API keys with roles, sent as `Authorization: Bearer <key>` or `x-api-key: <key>`.

Admin analytics and key management always need a super-admin key. The dashboard, read APIs and
ingest need a key (viewer / ingest, or super-admin) only when the server requires keys.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.store import ApiKey, KeyStore

__all__ = ["AuthError", "key_from_headers", "require"]

READ_ROLES = ("viewer", "super-admin")
INGEST_ROLES = ("ingest", "super-admin")
ADMIN_ROLES = ("super-admin",)


class AuthError(Exception):
    """401 (no valid key) or 403 (a valid key without the role)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def key_from_headers(headers: Any) -> str:
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return str(value[7:].strip())
    return str(headers.get("x-api-key", "").strip())


async def authenticate(request: Request, roles: tuple[str, ...]) -> ApiKey:
    keys: KeyStore = request.app.state.keys
    plaintext = key_from_headers(request.headers)
    if not plaintext:
        raise AuthError(401, "missing API key: send Authorization: Bearer <key> or x-api-key")
    key = await run_in_threadpool(keys.verify, plaintext)
    if key is None:
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
