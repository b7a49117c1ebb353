"""Price routes: the prices in force for every model the calls used (and where each came from), and
the user's own prices (super-admin): set or remove one, and history is priced again from its date."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.services import require, services
from livekit_dashboard.domain.prices import OVERRIDE_FIELDS, PriceError, parse_effective_from, parse_override
from livekit_dashboard.domain.roles import Permission

__all__ = ["prices_router"]

prices_router = APIRouter(prefix="/api/v1/prices", tags=["Prices"])
_ADMIN = [Depends(require(Permission.ADMIN))]
_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not a price (unknown field, negative amount, bad date)."},
    401: {"description": "Missing or invalid key."},
    403: {"description": "Not a super-admin key."},
}


class PriceIn(BaseModel):
    """A price for a provider's model as the dashboard names them (GET /api/v1/prices lists them),
    from a date on, in voice-prices' field names: USD per million tokens (`*_mtok`), per thousand TTS
    characters (`input_kchars`), per thousand seconds of TTS audio (`output_audio_kseconds`) or of STT
    audio (`input_audio_kseconds`)."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field("", max_length=200, examples=["openai"])
    model: str = Field(min_length=1, max_length=300, examples=["gpt-4o-mini"])
    effective_from: str = Field("", max_length=40, description="A date or ISO time (UTC); empty: always.")
    note: str = Field("", max_length=500, examples=["negotiated rate, contract 2026-11"])
    input_mtok: float | None = Field(None, ge=0, examples=[0.12])
    input_audio_mtok: float | None = Field(None, ge=0)
    cache_read_mtok: float | None = Field(None, ge=0)
    cache_audio_read_mtok: float | None = Field(None, ge=0)
    cache_write_mtok: float | None = Field(None, ge=0)
    output_mtok: float | None = Field(None, ge=0, examples=[0.48])
    output_audio_mtok: float | None = Field(None, ge=0)
    input_kchars: float | None = Field(None, ge=0)
    output_audio_kseconds: float | None = Field(None, ge=0)
    input_audio_kseconds: float | None = Field(None, ge=0)


assert set(OVERRIDE_FIELDS) <= set(PriceIn.model_fields)  # the model names every price field


@prices_router.get(
    "",
    dependencies=[Depends(require(Permission.READ))],
    summary="Prices in force per model seen, their history and source; the user's prices",
)
async def list_prices(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(services(request).call_records.prices.describe)


@prices_router.put("", dependencies=_ADMIN, responses=_ADMIN_ERRORS, summary="Set a price (re-prices history)")
async def put_price(request: Request, body: PriceIn) -> dict[str, Any]:
    try:
        override = parse_override(body.model_dump(exclude_none=True), source="api")
    except PriceError as exc:
        raise HTTPException(400, f"invalid price: {exc}") from None
    records = services(request).call_records

    def put() -> list[str]:
        keys = records.prices.put(override)
        records.reprice(keys, since_ms=int(override.effective_from.timestamp() * 1000))
        return keys

    keys = await run_in_threadpool(put)
    return {"price": body.model_dump(exclude_none=True), "repriced_models": keys}


@prices_router.delete("", dependencies=_ADMIN, responses=_ADMIN_ERRORS, summary="Remove a price (re-prices history)")
async def delete_price(
    request: Request,
    model: Annotated[str, Query(min_length=1, max_length=300)],
    provider: Annotated[str, Query(max_length=200)] = "",
    effective_from: Annotated[str, Query(max_length=40)] = "",
) -> dict[str, Any]:
    try:
        since = parse_effective_from(effective_from)
    except PriceError as exc:
        raise HTTPException(400, f"invalid price: {exc}") from None
    wanted = (provider.strip().lower(), model.strip().lower(), since)
    records = services(request).call_records

    def delete() -> list[str] | None:
        stored = [
            o
            for o in records.prices.overrides()
            if o.source == "api" and (o.provider, o.model.lower(), o.effective_from) == wanted
        ]
        if not stored:
            return None
        keys = records.prices.delete(stored[0])
        records.reprice(keys, since_ms=int(since.timestamp() * 1000))
        return keys

    keys = await run_in_threadpool(delete)
    if keys is None:
        when = effective_from or "always"
        raise HTTPException(404, f"no price set through the API for {provider}/{model} from {when}")
    return {"deleted": {"provider": wanted[0], "model": model}, "repriced_models": keys}


@prices_router.post("/reprice", dependencies=_ADMIN, responses=_ADMIN_ERRORS, summary="Price every call again")
async def reprice_all(request: Request) -> dict[str, Any]:
    """Resolve every model's prices again (after upgrading the catalogue, or editing the prices file
    and restarting) and price all settled calls with them."""
    records = services(request).call_records

    def run() -> list[str]:
        keys = records.prices.refresh()
        records.reprice(keys)
        return keys

    return {"repriced_models": await run_in_threadpool(run)}
