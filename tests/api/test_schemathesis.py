"""API fuzzing: schemathesis generates requests for every route in the app's OpenAPI schema (read,
admin, keys, ingest), with and without keys; no answer may be a 5xx and responses must match the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from livekit_dashboard.server import DashboardServer
from tests.conftest import DatabasePool, serving

ADMIN = "schemathesis-admin-key-0123456789"


@pytest.fixture(scope="module")
def live(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[DashboardServer]:
    with serving(chdb_dir, database_pool, grpc_port=0, admin_key=ADMIN, failed_keys_per_minute=100_000) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(live: DashboardServer) -> Any:
    return schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any) -> None:
    for key in (None, ADMIN, "lkd_0123456789_invalid-key-invalid-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = case.call(headers=headers, timeout=60)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
