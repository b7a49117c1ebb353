"""Prices in force: the catalogue's (domain/prices.py) and the user's overrides (a prices file read at
start, and the admin API's, stored in lk_price_overrides), resolved per model the calls used, and handed
to the settle and re-price statements as parameters (query/sql/fragments/line_prices.sql)."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from livekit_dashboard.domain.prices import (
    CATALOGUE_VERSION,
    COMPONENTS,
    ModelKey,
    PriceError,
    PriceOverride,
    PricePeriod,
    describe,
    parse_override,
    resolve,
)
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["PriceBook", "PriceError", "read_prices_file"]


def read_prices_file(path: Path) -> list[PriceOverride]:
    """Overrides from a TOML file: one [[price]] table per provider, model and effective date."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PriceError(f"cannot read prices file {path}: {exc}") from exc
    entries = data.get("price", [])
    if not isinstance(entries, list):
        raise PriceError(f"{path}: prices are [[price]] tables")
    out = []
    for number, entry in enumerate(entries, 1):
        try:
            out.append(parse_override(entry, source="file"))
        except PriceError as exc:
            raise PriceError(f"{path}: price #{number}: {exc}") from exc
    return out


def _key(text: str) -> ModelKey:
    stage, _, rest = text.partition("|")
    provider, _, model = rest.partition("|")
    return ModelKey(stage, provider, model)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class PriceBook:
    """The price periods of every model seen so far, resolved once and kept until a price changes."""

    def __init__(self, engine: Engine, file_overrides: Iterable[PriceOverride] = ()) -> None:
        self._engine = engine
        self._file = list(file_overrides)
        self._lock = threading.Lock()
        self._stored: list[PriceOverride] | None = None  # the admin API's, read on first use
        self._version: tuple[int, int] | None = None  # price_overrides_version when they were read
        self._periods: dict[str, list[PricePeriod]] = {}

    # -- prices -------------------------------------------------------------------------------------
    def overrides(self) -> list[PriceOverride]:
        with self._lock:
            return self._overrides_locked()

    def _overrides_locked(self) -> list[PriceOverride]:
        if self._stored is None:
            self._version = self._stored_version()
            rows = self._engine.query(load_sql("price_overrides"))
            self._stored = [
                PriceOverride(
                    row["provider"],
                    row["model"],
                    row["effective_from"].replace(tzinfo=dt.UTC),
                    dict(row["prices"]),
                    "api",
                    row["note"],
                )
                for row in rows
            ]
        # an API price replaces a file price of the same model and date
        stored = {(o.provider, o.model.lower(), o.effective_from) for o in self._stored}
        return [o for o in self._file if (o.provider, o.model.lower(), o.effective_from) not in stored] + self._stored

    def ensure(self, keys: Iterable[str]) -> list[str]:
        """Resolve the models not seen before; returns those (their calls need pricing again)."""
        with self._lock:
            new = [k for k in keys if k not in self._periods]
            if new:
                overrides = self._overrides_locked()
                for key in new:
                    self._periods[key] = resolve(_key(key), overrides)
            return new

    def params(self) -> dict[str, Any]:
        """The line_prices fragment's parameters: every period of every model seen, oldest first."""
        keys: list[str] = []
        starts: list[int] = []
        units: list[float] = []
        sources: list[str] = []
        with self._lock:
            for key, periods in sorted(self._periods.items()):
                for period in periods:
                    keys.append(key)
                    starts.append(_ms(period.effective_from))
                    units += [-1.0 if period.usd_per_unit[c] is None else period.usd_per_unit[c] for c in COMPONENTS]  # type: ignore[misc]
                    sources.append(period.source)
        return {"price_keys": keys, "price_from_ms": starts, "price_units": units, "price_sources": sources}

    def periods(self, key: str) -> list[PricePeriod]:
        with self._lock:
            if key not in self._periods:
                self._periods[key] = resolve(_key(key), self._overrides_locked())
            return list(self._periods[key])

    def known(self) -> list[str]:
        with self._lock:
            return sorted(self._periods)

    # -- overrides ----------------------------------------------------------------------------------
    def put(self, override: PriceOverride) -> list[str]:
        """Store a user's price (replacing one of the same model and date); returns the models it
        re-prices (stage|provider|model seen so far)."""
        self._write(override, deleted=False)
        return self._changed(override)

    def delete(self, override: PriceOverride) -> list[str]:
        self._write(override, deleted=True)
        return self._changed(override)

    def _write(self, override: PriceOverride, *, deleted: bool) -> None:
        self._engine.command(
            load_sql("price_override_write"),
            {
                "provider": override.provider,
                "model": override.model,
                "effective_from": override.effective_from.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                "prices": dict(override.prices),
                "note": override.note,
                "deleted": int(deleted),
            },
        )

    def _changed(self, override: PriceOverride) -> list[str]:
        with self._lock:
            self._stored = None
            changed = [
                key
                for key in self._periods
                if _key(key).provider == override.provider and _key(key).model.lower() == override.model.lower()
            ]
            for key in changed:
                del self._periods[key]
        self.ensure(changed)
        return changed

    def _stored_version(self) -> tuple[int, int]:
        row = self._engine.query(load_sql("price_overrides_version"))[0]
        return int(row["writes"]), int(row["last_ms"])

    def refresh_if_changed(self) -> bool:
        """Read the stored prices again when they changed since they were read (another replica of the
        same storage set or removed one; that replica re-priced the settled calls), so calls settled
        here from now on are priced with them. Returns whether they had changed."""
        with self._lock:
            seen = self._version
        if seen is None or self._stored_version() == seen:
            return False
        self.refresh()
        return True

    def refresh(self) -> list[str]:
        """Resolve every model seen again (stored overrides read afresh); returns them."""
        with self._lock:
            self._stored = None
            keys = sorted(self._periods)
            self._periods.clear()
        self.ensure(keys)
        return keys

    def fingerprint(self) -> str:
        """What prices calls now: the catalogue's version and the prices file (stored prices re-price
        the calls they change when they are set)."""
        text = CATALOGUE_VERSION + "".join(
            sorted(
                f"|{o.provider}|{o.model}|{o.effective_from.isoformat()}|{sorted(o.prices.items())}" for o in self._file
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def describe(self) -> dict[str, Any]:
        """What the prices API shows: the catalogue, every model seen with its price history, and the
        overrides."""
        models = []
        for key in self.known():
            parsed = _key(key)
            periods = self.periods(key)
            models.append(
                {
                    "key": key,
                    "stage": parsed.stage,
                    "provider": parsed.provider,
                    "model": parsed.model,
                    "priced": bool(periods),
                    "periods": [describe(p) for p in periods],
                }
            )
        overrides = [
            {
                "provider": o.provider,
                "model": o.model,
                "effective_from": o.effective_from.isoformat().replace("+00:00", "Z"),
                "source": o.source,
                "note": o.note,
                **o.prices,
            }
            for o in self.overrides()
        ]
        return {
            "catalogue": CATALOGUE_VERSION,
            "components": list(COMPONENTS),
            "models": models,
            "overrides": overrides,
        }
