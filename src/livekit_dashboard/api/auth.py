"""Auth: one authorize() for every transport (HTTP routes, OTLP/gRPC, the LiveKit-compatible upload
routes). A caller presents a secret (`Authorization: Bearer <secret>`, `x-api-key`, or the same gRPC
metadata); it is an API key of ours or, where a verifier is configured, a LiveKit access token.

Admin routes always need a key; the dashboard, read APIs and ingest need one only when the server
requires keys. Wrong keys are rate limited per client address without locking out keys that work: a
generated key (`lkd_…`, 144 random bits) or a signed token cannot be guessed, so it is always checked;
a secret that could be a person-chosen bootstrap key is not even checked while its address (or every
address together) has sent too many wrong ones, so guessing it is not possible at any speed.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from livekit_dashboard.domain.roles import GRANTS, Permission, Role
from livekit_dashboard.store import KeyStore, is_generated_key

__all__ = [
    "AuthError",
    "AuthFailure",
    "Authorizer",
    "Credentials",
    "FailedKeyLimiter",
    "Principal",
    "TokenVerifier",
]


class AuthFailure(enum.Enum):
    """Why a request was refused, with its HTTP status."""

    UNAUTHENTICATED = 401
    FORBIDDEN = 403
    RATE_LIMITED = 429


class AuthError(Exception):
    """A refused request; every transport maps `failure` to its own status."""

    def __init__(self, failure: AuthFailure, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message
        self.retry_after_s = retry_after_s

    @property
    def status(self) -> int:
        return self.failure.value


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a caller presented: a secret ('' for none) and its address (for the failed-key limiter)."""

    secret: str
    client: str

    @classmethod
    def from_pairs(cls, pairs: dict[str, str], client: str) -> Credentials:
        """From HTTP headers or gRPC metadata (lower-case names)."""
        value = pairs.get("authorization", "")
        if value[:7].lower() == "bearer ":
            return cls(value[7:].strip(), client)
        return cls(pairs.get("x-api-key", "").strip(), client)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as."""

    name: str
    permissions: frozenset[Permission]
    role: Role | None = None  # for API keys
    key_id: str = ""


# a LiveKit token verifier: the principal of a valid token, None when the secret is not a token of a
# known key (AuthError for a token of a known key that is invalid: expired, wrong grant)
TokenVerifier = Callable[[str], Principal | None]


class FailedKeyLimiter:
    """Counts wrong keys per client address within a sliding window. Bounded: the least recently
    failing addresses are forgotten first, each operation is O(1) amortized."""

    def __init__(
        self,
        limit: int = 20,
        window_s: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        horizon = self._clock() - self._window_s
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def blocked_for_s(self, client: str) -> int:
        """Seconds until `client` may be checked again (0: now)."""
        with self._lock:
            failures = self._recent(client)
            if failures is None or len(failures) < self._limit:
                return 0
            return max(1, math.ceil(failures[0] + self._window_s - self._clock()))

    def record_failure(self, client: str) -> None:
        with self._lock:
            failures = self._recent(client)
            if failures is None:
                failures = self._failures[client] = deque(maxlen=self._limit)
                while len(self._failures) > self._max_clients:
                    self._failures.popitem(last=False)
            else:
                self._failures.move_to_end(client)
            failures.append(self._clock())

    def __len__(self) -> int:
        return len(self._failures)


_ALL_CLIENTS = "*"


class Authorizer:
    """authorize(credentials, permission): the principal, or AuthError."""

    def __init__(
        self,
        keys: KeyStore,
        *,
        required: bool,
        failed_keys_per_minute: int = 20,
        token_verifier: TokenVerifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self.required = required
        self._token_verifier = token_verifier
        self.limiter = FailedKeyLimiter(limit=failed_keys_per_minute, clock=clock)
        # refused requests since start, by why (AuthFailure names): the server's /metrics
        self._refusals: Counter[str] = Counter()
        self._refusals_lock = threading.Lock()
        # wrong guessable secrets from every address together (addresses are cheap to get)
        self._all = FailedKeyLimiter(limit=failed_keys_per_minute * 5, clock=clock)

    @property
    def verifies_tokens(self) -> bool:
        """Whether LiveKit API keys are configured (their tokens are then checked wherever sent)."""
        return self._token_verifier is not None

    def authorize(self, credentials: Credentials, needed: Permission, *, strict: bool = False) -> Principal | None:
        """The caller's principal; None when keys are not required for `needed` (admin always is, and
        `strict` makes any permission need one)."""
        if not self.required and not strict and needed is not Permission.ADMIN:
            return None
        try:
            principal = self._authenticate(credentials)
        except AuthError as exc:
            self._refused(exc.failure)
            raise
        if needed not in principal.permissions:
            self._refused(AuthFailure.FORBIDDEN)
            held = (
                f"this key's role is {principal.role}"
                if principal.role
                else f"{principal.name} may only send telemetry"
            )
            raise AuthError(AuthFailure.FORBIDDEN, f"this route needs a {_roles_with(needed)} key; {held}")
        return principal

    def identify(self, credentials: Credentials) -> Principal | None:
        """Who the presented secret is, whatever the route would need (None: no secret presented);
        AuthError for a wrong one, counted and rate limited like any other."""
        if not credentials.secret:
            return None
        try:
            return self._authenticate(credentials)
        except AuthError as exc:
            self._refused(exc.failure)
            raise

    def refusals(self) -> dict[str, int]:
        """Requests refused since start, by why: unauthenticated, forbidden, rate_limited."""
        with self._refusals_lock:
            return dict(self._refusals)

    def _refused(self, failure: AuthFailure) -> None:
        with self._refusals_lock:
            self._refusals[failure.name.lower()] += 1

    def _authenticate(self, credentials: Credentials) -> Principal:
        secret, client = credentials.secret, credentials.client
        if not secret:
            raise AuthError(
                AuthFailure.UNAUTHENTICATED, "missing API key: send Authorization: Bearer <key> or x-api-key"
            )
        if is_generated_key(secret):
            return self._check_key(secret, client, guessable=False)
        if self._token_verifier is not None:
            principal = self._token_verifier(secret)
            if principal is not None:
                return principal
        return self._check_key(secret, client, guessable=True)

    def _check_key(self, secret: str, client: str, *, guessable: bool) -> Principal:
        if guessable:
            # not even checked while this address, or everyone together, guessed too often
            wait_s = max(self.limiter.blocked_for_s(client), self._all.blocked_for_s(_ALL_CLIENTS))
            if wait_s:
                raise AuthError(AuthFailure.RATE_LIMITED, f"too many invalid API keys; retry in {wait_s} s", wait_s)
        key = self._keys.verify(secret)
        if key is not None:
            return Principal(key.name, GRANTS[key.role], key.role, key.key_id)
        wait_s = self.limiter.blocked_for_s(client)
        self.limiter.record_failure(client)
        if guessable:
            self._all.record_failure(_ALL_CLIENTS)
        if wait_s:  # slow the guesser down; keys that work from this address still do
            raise AuthError(AuthFailure.RATE_LIMITED, f"too many invalid API keys; retry in {wait_s} s", wait_s)
        raise AuthError(AuthFailure.UNAUTHENTICATED, "invalid or revoked API key")


def _roles_with(permission: Permission) -> str:
    return " or ".join(role.value for role, granted in GRANTS.items() if permission in granted)
