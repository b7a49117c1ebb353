"""LiveKit access tokens, as livekit-agents sends them with LIVEKIT_OBSERVABILITY_URL: a JWT (HS256)
signed with a LiveKit API secret, issued by its API key, carrying the observability write grant.
Verified with livekit-api's own TokenVerifier (signature, issuer, expiry, not-before; `exp` required)
against the key/secret pairs the server is configured with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import jwt
from livekit import api as livekit_api

from livekit_dashboard.api.auth import AuthError, AuthFailure, Principal, TokenVerifier
from livekit_dashboard.domain.roles import Permission

__all__ = ["livekit_token_verifier"]

_LEEWAY_S = 10  # clock skew allowed between the worker and this server


def livekit_token_verifier(keys: Mapping[str, str]) -> TokenVerifier | None:
    """A verifier for tokens of these LiveKit API keys (key -> secret); None when there are none."""
    verifiers = {
        key: livekit_api.TokenVerifier(key, secret, leeway=dt.timedelta(seconds=_LEEWAY_S))
        for key, secret in keys.items()
    }
    if not verifiers:
        return None

    def verify(secret: str) -> Principal | None:
        if secret.count(".") != 2:
            return None  # not a JWT: one of our API keys, perhaps
        try:
            issuer = jwt.decode(secret, options={"verify_signature": False}).get("iss", "")
        except jwt.PyJWTError:
            return None
        verifier = verifiers.get(str(issuer))
        if verifier is None:
            raise AuthError(AuthFailure.UNAUTHENTICATED, f"LiveKit token of an unknown API key {issuer!r}")
        try:
            claims = verifier.verify(secret)
        except jwt.ExpiredSignatureError:
            raise AuthError(AuthFailure.UNAUTHENTICATED, "LiveKit token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError(AuthFailure.UNAUTHENTICATED, "LiveKit token not valid yet (nbf)") from None
        except jwt.InvalidSignatureError:
            raise AuthError(
                AuthFailure.UNAUTHENTICATED, f"LiveKit token not signed with the secret of {issuer!r}"
            ) from None
        except jwt.PyJWTError as exc:
            raise AuthError(AuthFailure.UNAUTHENTICATED, f"invalid LiveKit token: {exc}") from None
        if claims.observability is None or not claims.observability.write:
            raise AuthError(AuthFailure.FORBIDDEN, "this LiveKit token has no observability write grant")
        return Principal(f"LiveKit key {issuer}", frozenset({Permission.INGEST}))

    return verify
