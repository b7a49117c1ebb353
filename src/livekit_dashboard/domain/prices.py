"""Prices: what one unit of each kind of usage costs, per model, from which date.

The catalogue is the `voice-prices` package (MIT; a fork of pydantic's `genai-prices` that adds STT and
TTS prices), read from the snapshot it ships: nothing is fetched at run time. A user's own prices
(overrides, from a file or the admin API) are written in the package's own field names and take
precedence from their effective date on.

Every price becomes a vector of USD per unit of the ten usage components a call's usage is split into
(`COMPONENTS`). The vector is measured with the package's own calculation (`ModelPrice.calc_price`),
one component at a time, so its rules (audio tokens without an audio price bill as text, cached tokens
without a cache price bill as input, ...) are the package's, not a copy. Prices are linear per unit;
tiered prices (long-context tiers) apply their first tier, and time-of-day discounts are not applied.

Matching an observed model to a catalogue entry (docs/cost.md states the rule): the provider as the
dashboard names it (canonical, `lkd_provider`) picks the catalogue provider, and the package's own
model matcher picks the model; a `vendor/model` name (LiveKit Inference) is looked up at the `livekit`
provider, then at the vendor; a model no provider names is looked up by its name alone. A model that
matches nothing, or whose match has no price for the units its stage bills in, is unpriced: its usage
is shown as such, never as $0."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import voice_prices
from voice_prices import data_snapshot
from voice_prices import types as vp

__all__ = [
    "CATALOGUE_VERSION",
    "COMPONENTS",
    "EPOCH",
    "OVERRIDE_FIELDS",
    "STAGE_COMPONENTS",
    "ModelKey",
    "PriceError",
    "PriceOverride",
    "PricePeriod",
    "parse_effective_from",
    "parse_override",
    "resolve",
]

CATALOGUE_VERSION = f"voice-prices {voice_prices.__version__}"

# the usage of one model on one call, split into what prices bill separately; tokens are uncached
# unless named cached, and output tokens include reasoning
COMPONENTS = (
    "input_text",
    "input_audio",
    "cached_text",
    "cached_audio",
    "cache_write",
    "output_text",
    "output_audio",
    "tts_characters",
    "tts_seconds",
    "stt_seconds",
)
# the components a stage's usage can have: a model priced for none of them is unpriced at that stage
_TOKENS = COMPONENTS[:7]
STAGE_COMPONENTS = {
    "llm": _TOKENS,
    "realtime": _TOKENS,
    "tts": ("tts_characters", "tts_seconds"),
    "stt": ("stt_seconds",),
}

# an override's prices, in the package's field names and units (USD per million tokens, per thousand
# characters, per thousand seconds)
OVERRIDE_FIELDS = (
    "input_mtok",
    "input_audio_mtok",
    "cache_read_mtok",
    "cache_audio_read_mtok",
    "cache_write_mtok",
    "output_mtok",
    "output_audio_mtok",
    "input_kchars",
    "output_audio_kseconds",
    "input_audio_kseconds",
)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# one probe per component: a usage of _N units of it alone, as the package's Usage spells it
_N = 1000
_PROBES: dict[str, vp.Usage] = {
    "input_text": vp.Usage(input_tokens=_N),
    "input_audio": vp.Usage(input_tokens=_N, input_audio_tokens=_N),
    "cached_text": vp.Usage(input_tokens=_N, cache_read_tokens=_N),
    "cached_audio": vp.Usage(input_tokens=_N, input_audio_tokens=_N, cache_read_tokens=_N, cache_audio_read_tokens=_N),
    "cache_write": vp.Usage(input_tokens=_N, cache_write_tokens=_N),
    "output_text": vp.Usage(output_tokens=_N),
    "output_audio": vp.Usage(output_tokens=_N, output_audio_tokens=_N),
    "tts_characters": vp.Usage(characters=_N),
    "tts_seconds": vp.Usage(audio_output_seconds=Decimal(_N)),
    "stt_seconds": vp.Usage(audio_input_seconds=Decimal(_N)),
}

# canonical provider names (lkd_provider) the catalogue spells differently
_PROVIDER_ALIASES = {"aws.bedrock": "aws", "xai": "x-ai", "gemini": "google"}


class PriceError(ValueError):
    """An override that cannot be a price (unknown field, negative or missing amount, bad date)."""


@dataclass(frozen=True, slots=True)
class ModelKey:
    """A model as the dashboard observed it: stage, canonical provider, model name."""

    stage: str
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class PricePeriod:
    """The price of one model from `effective_from` on (until the next period's)."""

    effective_from: dt.datetime
    usd_per_unit: Mapping[str, float | None]  # per COMPONENT: None where this price has no meter
    source: str  # "catalogue", "file" or "api"
    reference: str  # the catalogue's provider/model, or the override's note

    def priced_for(self, stage: str) -> bool:
        return any(self.usd_per_unit.get(c) is not None for c in STAGE_COMPONENTS.get(stage, ()))


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """A user's price for a provider's model (as the dashboard names them) from a date on."""

    provider: str
    model: str
    effective_from: dt.datetime
    prices: Mapping[str, float]  # OVERRIDE_FIELDS present in it
    source: str = "api"
    note: str = ""

    def period(self) -> PricePeriod:
        fields: dict[str, Any] = {k: Decimal(str(v)) for k, v in self.prices.items()}
        price = vp.ModelPrice(**fields)
        return PricePeriod(
            self.effective_from, _unit_prices(price), self.source, self.note or f"{self.source} override"
        )


def _unit_prices(price: vp.ModelPrice) -> dict[str, float | None]:
    """USD per unit of each component, measured with the package's calculation of `price` (less what
    it bills per request, which no usage quantity carries). None where the package finds no rate for it."""
    base = Decimal(price.calc_price(vp.Usage())["total_price"])
    out: dict[str, float | None] = {}
    for component, usage in _PROBES.items():
        calc = price.calc_price(usage)
        if calc["unpriced_usage"]:
            out[component] = None
        else:
            out[component] = float((Decimal(calc["total_price"]) - base) / _N)
    return out


def _periods(model: vp.ModelInfo, reference: str) -> list[PricePeriod]:
    """The catalogue's price history of `model`: one period per start date (time-of-day prices skipped)."""
    if isinstance(model.prices, vp.ModelPrice):
        return [PricePeriod(EPOCH, _unit_prices(model.prices), "catalogue", reference)]
    periods: dict[dt.datetime, PricePeriod] = {}
    for conditional in model.prices:
        constraint = conditional.constraint
        if constraint is None:
            start = EPOCH
        elif isinstance(constraint, vp.StartDateConstraint):
            start = dt.datetime.combine(constraint.start_date, dt.time(), dt.UTC)
        elif isinstance(constraint, vp.StartTimestampConstraint):
            start = constraint.start_timestamp.astimezone(dt.UTC)
        else:  # a time-of-day discount: the standard price stands
            continue
        # the last price whose constraint holds wins: a later entry for the same start replaces
        periods[start] = PricePeriod(start, _unit_prices(conditional.prices), "catalogue", reference)
    return [periods[k] for k in sorted(periods)]


def _find(provider: str, model: str) -> tuple[str, vp.ModelInfo] | None:
    """The catalogue entry of an observed model, by the rule in the module's docstring."""
    snapshot = data_snapshot.get_snapshot()
    name = model.strip().lower()
    if not name:
        return None
    attempts: list[tuple[str | None, str]] = []
    catalogue_provider = _PROVIDER_ALIASES.get(provider, provider)
    if catalogue_provider:
        attempts.append((catalogue_provider, name))
    if "/" in name:
        vendor, _, rest = name.partition("/")
        attempts += [("livekit", name), (_PROVIDER_ALIASES.get(vendor, vendor), rest)]
    if not catalogue_provider or not any(p.id == catalogue_provider for p in snapshot.providers):
        attempts.append((None, name))
    for provider_id, ref in attempts:
        try:
            found_provider, found = snapshot.find_provider_model(ref, None, provider_id, None)
        except LookupError:
            continue
        return f"{found_provider.id}/{found.id}", found
    return None


def _for_stage(period: PricePeriod, stage: str) -> PricePeriod:
    """TTS bills in one unit: per character when the price has a character rate, else per second of
    audio; the other unit of a TTS request is then covered (free), not unpriced."""
    usd = dict(period.usd_per_unit)
    if stage == "tts":
        if usd["tts_characters"] is not None:
            usd["tts_seconds"] = 0.0
        elif usd["tts_seconds"] is not None:
            usd["tts_characters"] = 0.0
    return PricePeriod(period.effective_from, usd, period.source, period.reference)


def resolve(key: ModelKey, overrides: Iterable[PriceOverride] = ()) -> list[PricePeriod]:
    """The price periods of an observed model, oldest first: the catalogue's, then the overrides for
    its provider and model from their dates on. Empty when nothing prices it."""
    found = _find(key.provider, key.model)
    periods = _periods(found[1], found[0]) if found else []
    periods = [_for_stage(p, key.stage) for p in periods if p.priced_for(key.stage)]
    mine = sorted(
        (o for o in overrides if o.provider == key.provider and o.model.lower() == key.model.lower()),
        key=lambda o: o.effective_from,
    )
    for override in mine:
        period = _for_stage(override.period(), key.stage)
        # an override replaces whatever was in force from its date on
        periods = [p for p in periods if p.effective_from < override.effective_from] + [period]
        # the catalogue's later price changes do not undo a user's price
    return periods


def parse_override(raw: Mapping[str, Any], *, source: str) -> PriceOverride:
    """An override from its JSON/TOML form: provider, model, effective_from (a date or a time, UTC),
    optional note, and at least one of OVERRIDE_FIELDS (USD, not negative)."""
    unknown = set(raw) - {"provider", "model", "effective_from", "note", *OVERRIDE_FIELDS}
    if unknown:
        raise PriceError(f"unknown price fields: {', '.join(sorted(unknown))} (known: {', '.join(OVERRIDE_FIELDS)})")
    provider = str(raw.get("provider", "")).strip().lower()
    model = str(raw.get("model", "")).strip()
    if not model:
        raise PriceError("a price needs the model it is for (as the dashboard shows it)")
    prices: dict[str, float] = {}
    for name in OVERRIDE_FIELDS:
        if raw.get(name) is None:
            continue
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise PriceError(f"{name} must be a number of US dollars")
        try:
            amount = float(value)
        except ValueError as exc:
            raise PriceError(f"{name} must be a number of US dollars") from exc
        if not amount >= 0 or amount == float("inf"):
            raise PriceError(f"{name} must be zero or more")
        prices[name] = amount
    if not prices:
        raise PriceError(f"a price needs at least one of: {', '.join(OVERRIDE_FIELDS)}")
    return PriceOverride(
        provider, model, parse_effective_from(raw.get("effective_from")), prices, source, str(raw.get("note", ""))
    )


def parse_effective_from(value: object) -> dt.datetime:
    """A price's effective date: a date or an ISO 8601 time (UTC when it has no zone); empty: always."""
    if value is None or value == "":
        return EPOCH
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PriceError("effective_from must be a date (2026-11-01) or an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def describe(period: PricePeriod) -> dict[str, Any]:
    """A period as the prices API shows it (USD per unit and per the usual billing unit)."""
    usd = period.usd_per_unit
    return {
        "effective_from": period.effective_from.isoformat().replace("+00:00", "Z"),
        "source": period.source,
        "reference": period.reference,
        "usd_per_unit": dict(usd),
    }
