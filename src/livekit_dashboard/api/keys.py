"""Key management routes: list, create and revoke API keys (super-admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.services import require, services
from livekit_dashboard.domain.roles import Permission, Role

__all__ = ["keys_router"]

keys_router = APIRouter(
    prefix="/api/v1/keys",
    tags=["API keys"],
    dependencies=[Depends(require(Permission.ADMIN))],
    responses={401: {"description": "Missing or invalid key."}, 403: {"description": "Not a super-admin key."}},
)


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["prod-worker-ingest"])
    role: str = Field(description=f"One of {', '.join(Role)}.", examples=["ingest"])


@keys_router.get("", summary="All keys (never their secrets)")
async def list_keys(request: Request) -> dict[str, Any]:
    keys = services(request).keys
    return {"keys": [k.public() for k in await run_in_threadpool(keys.list)]}


@keys_router.post("", status_code=201, summary="Create a key; the response is the only time it is shown")
async def create_key(request: Request, body: NewKey) -> dict[str, Any]:
    keys = services(request).keys
    try:
        record, plaintext = await run_in_threadpool(keys.create, body.name, body.role)
    except ValueError as exc:
        raise HTTPException(400, f"invalid parameter: {exc}") from None
    return {**record.public(), "key": plaintext}


@keys_router.delete("/{key_id}", summary="Revoke a key (takes effect immediately)")
async def revoke_key(request: Request, key_id: str) -> dict[str, Any]:
    keys = services(request).keys
    record = await run_in_threadpool(keys.revoke, key_id)
    if record is None:
        raise HTTPException(404, f"no key with id {key_id!r}")
    return record.public()
