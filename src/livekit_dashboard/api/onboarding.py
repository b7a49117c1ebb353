"""Onboarding routes: what the web UI needs to guide a first run and to keep a user oriented — where
this server takes telemetry (its OTLP ports), how much telemetry is stored and when its newest item
is (an empty dashboard shows how to connect; a range with nothing in it says where the latest data
lies), and which key the browser is using."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.auth import Credentials
from livekit_dashboard.api.services import client_address, require, services
from livekit_dashboard.domain.roles import Permission
from livekit_dashboard.query import data_extent

__all__ = ["onboarding_router", "whoami_router"]

# the read routes (registered with the read permission) and the key's own route (open: it answers
# for whatever key is presented, or none)
onboarding_router = APIRouter(prefix="/api/v1", tags=["Onboarding"], dependencies=[Depends(require(Permission.READ))])
whoami_router = APIRouter(prefix="/api/v1", tags=["Onboarding"])


@onboarding_router.get(
    "/connect",
    summary="Where this server takes telemetry: its OTLP/HTTP and OTLP/gRPC ports, and whether keys are required",
)
async def connect(request: Request) -> dict[str, Any]:
    app_services = services(request)
    listening = app_services.listening()
    return {
        "host": listening.host,
        "http_port": listening.http_port,
        "grpc_port": listening.grpc_port,  # 0: gRPC disabled
        "otlp_http_paths": ["/v1/traces", "/v1/logs", "/v1/metrics"],
        "keys_required": app_services.authorizer.required,
        "verifies_livekit_tokens": app_services.authorizer.verifies_tokens,
    }


@onboarding_router.get(
    "/data/extent",
    summary="Spans, log records and metric points stored, with the oldest and newest of each (unix ns)",
)
async def extent(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(data_extent, services(request).engine)


@whoami_router.get(
    "/auth/key",
    summary="The API key this request presents: its id, name and role (null when none is presented)",
    responses={401: {"description": "An invalid or revoked key."}},
)
async def current_key(request: Request) -> dict[str, Any]:
    authorizer = services(request).authorizer
    credentials = Credentials.from_pairs(dict(request.headers), client_address(request))
    principal = authorizer.identify(credentials)
    key = None
    if principal is not None:
        key = {"id": principal.key_id, "name": principal.name, "role": principal.role}
    return {"keys_required": authorizer.required, "key": key}
