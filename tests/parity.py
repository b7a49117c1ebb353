"""Read everything a user can read, to compare two servers that were fed the same data another way
(a cluster layout, the Collector's inserts, the HTTP storage engine): every dashboard panel, the
filter values, the call list, each call's page and trace, the logs, and (with a super-admin key) the
admin analytics. Two stores hold the same data exactly when their snapshots are equal."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import httpx

_CALL_SORTS = ("started_at", "call_duration_s", "cost_usd", "response_max_s")
_VOLATILE = frozenset({"elapsed_ms", "generated_at", "now", "settled_at", "took_ms"})


def _get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, f"GET {path} {params}: {response.status_code} {response.text[:500]}"
    return response.json()


# Two floats are the same answer when they agree to this relative tolerance: a sum's last bits depend on
# the order its parts were added in, which differs between stores holding the same rows (parts, shards).
# (Rounding both to 12 digits is not enough: 0.02723417917625 rounds up on one side, down on the other.)
_REL_TOL = 1e-9


def _stable(value: Any) -> Any:
    """Drop the fields that say when or how fast a response was made (not what it says)."""
    if isinstance(value, dict):
        return {key: _stable(item) for key, item in value.items() if key not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def window(start_ns: int, end_ns: int) -> dict[str, str]:
    """A fixed time range (two snapshots taken a moment apart must ask for the same one)."""

    def iso(ns: int) -> str:
        return datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {"start": iso(start_ns), "end": iso(end_ns)}


def snapshot(base_url: str, range_: dict[str, str], *, admin_key: str = "", calls: int = 25) -> dict[str, Any]:
    """Everything readable over the API in `range_`, keyed by what was asked; `calls` call pages (newest
    first)."""
    out: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        for panel in _get(client, "/api/v1/panels")["panels"]:
            out[f"panel {panel['name']}"] = _get(client, f"/api/v1/panels/{panel['name']}", range_)
        out["filters"] = _get(client, "/api/v1/filters", range_)
        for sort in _CALL_SORTS:
            out[f"calls by {sort}"] = _get(client, "/api/v1/calls", {**range_, "sort": sort, "limit": 200})
        for row in out["calls by started_at"]["calls"][:calls]:
            page = _get(client, f"/api/v1/calls/{row['call_id']}")
            out[f"call {row['call_id']}"] = page
            trace_id = page["record"].get("trace_id") or row.get("trace_id")
            if trace_id:
                out[f"trace {trace_id}"] = _get(client, f"/api/v1/traces/{trace_id}")
        out["logs"] = _get(client, "/api/v1/logs", {**range_, "limit": 200})
        if admin_key:
            for path in ("/tokens/summary", "/tokens/by-user", "/tokens/by-assistant", "/calls/summary", "/calls"):
                out[f"admin {path}"] = _get(
                    client, f"/admin/analytics{path}", {"start_date": range_["start"], "end_date": range_["end"]}
                )
    stable: dict[str, Any] = _stable(out)
    return stable


def same(left: Any, right: Any) -> bool:
    """Equal, with floats equal to a relative tolerance (an int and a float compare as numbers)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) and float in (type(left), type(right)):
        return math.isclose(left, right, rel_tol=_REL_TOL, abs_tol=1e-12)
    return bool(left == right)


def differences(left: dict[str, Any], right: dict[str, Any], *, limit: int = 10) -> list[str]:
    """The answers that differ (or exist on one side only), each with the first place they part."""
    found = []
    for key in sorted(set(left) | set(right)):
        if not same(left.get(key), right.get(key)):
            found.append(f"{key}: {_first_difference(left.get(key), right.get(key))}")
    return found[:limit]


def _first_difference(left: Any, right: Any, path: str = "") -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            if not same(left.get(key), right.get(key)):
                return _first_difference(left.get(key), right.get(key), f"{path}.{key}")
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path or '.'}: {len(left)} items against {len(right)}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if not same(a, b):
                return _first_difference(a, b, f"{path}[{index}]")
    return f"{path or '.'}: {str(left)[:300]} against {str(right)[:300]}"
