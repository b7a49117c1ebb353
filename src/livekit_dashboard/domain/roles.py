"""Roles and permissions: what an API key (or a LiveKit token) may do."""

from __future__ import annotations

import enum

__all__ = ["GRANTS", "Permission", "Role"]


class Role(enum.StrEnum):
    """The role stored with an API key."""

    SUPER_ADMIN = "super-admin"
    VIEWER = "viewer"
    INGEST = "ingest"


class Permission(enum.StrEnum):
    """What a route needs: read dashboards and APIs, send telemetry, or administer."""

    READ = "read"
    INGEST = "ingest"
    ADMIN = "admin"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.SUPER_ADMIN: frozenset(Permission),
    Role.VIEWER: frozenset({Permission.READ}),
    Role.INGEST: frozenset({Permission.INGEST}),
}
