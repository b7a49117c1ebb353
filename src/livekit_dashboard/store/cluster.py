"""Cluster layout: the same schema files, rendered for a ClickHouse cluster.

On one node a table is one MergeTree table. On a cluster (`--cluster NAME`) each table `t` becomes
two: `t_local`, a Replicated*MergeTree table on every node that holds that shard's rows, and `t`, a
Distributed table over them, so every query and every insert keeps using the plain name. Rows are
sharded by trace id (or the id that stands for a call where a table has no trace id), so a call's
spans, logs, derived rows and record live on one shard: the materialized views run on the local
tables, and each shard derives its own rows from the rows it holds, as one node does.

Each schema statement is rewritten by its kind (create table, materialized view, alter, truncate,
exchange, drop, …); a statement of a kind not handled here is an error, so a new migration cannot be
silently rendered wrong. `ON CLUSTER` comes from the `{{on_cluster}}` slot the schema files carry.

Two switches exist for proving the layout where no Keeper runs (tests, docs/scaling.md): without
`replicated` the local tables use the plain engines, and without `on_cluster` the DDL is run on the
one node it is sent to. A one-shard cluster on chDB then runs the whole layout in-process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from livekit_dashboard.store.engine import StorageError

__all__ = ["LOCAL_SUFFIX", "SHARD_KEYS", "Cluster", "data_table"]

LOCAL_SUFFIX = "_local"

# how each table's rows are spread over shards; a call's rows share a shard (see the module docstring)
_BY_TRACE = "cityHash64(TraceId)"
SHARD_KEYS: dict[str, str] = {
    "otel_traces": _BY_TRACE,
    "otel_traces_next": _BY_TRACE,
    "otel_traces_trace_id_ts": _BY_TRACE,
    "otel_logs": _BY_TRACE,
    # a call's usage metrics come from the one worker that ran it: shard by the service that sent them
    **{
        f"otel_metrics_{kind}": "cityHash64(ServiceName)"
        for kind in ("gauge", "sum", "histogram", "exponential_histogram", "summary")
    },
    "lk_requests": _BY_TRACE,
    "lk_turns": _BY_TRACE,
    "lk_calls": _BY_TRACE,
    "lk_errors": _BY_TRACE,
    # (a record's versions and its deletion share its trace's shard, so FINAL replaces them)
    "lk_error_records": _BY_TRACE,
    "lk_turn_steps": _BY_TRACE,
    "lk_call_usage": _BY_TRACE,
    "lk_call_turns": _BY_TRACE,  # dropped by schema 0026; laid out for the migrations before it
    "lk_call_usage_metrics": "cityHash64(CallKey)",
    "lk_call_touch": "cityHash64(TraceId, CallId)",
    "lk_usage_posted": "cityHash64(CallId)",
    "lk_call_records": "cityHash64(call_id)",
    "lk_call_records_next": "cityHash64(call_id)",
    "lk_recordings": "cityHash64(CallId)",
    "lk_chat_histories": "cityHash64(CallId)",
    # rollups: the views write them on each shard; a backfill through the Distributed table spreads by hour
    "lk_span_minutes": "toUInt64(toStartOfHour(Minute))",
    "lk_request_hours": "toUInt64(Hour)",
    "lk_request_latency_hours": "toUInt64(Hour)",
    "lk_turn_hours": "toUInt64(Hour)",
    "lk_stage_hours": "toUInt64(Hour)",
    # small tables of the application's own: a ReplacingMergeTree keeps one row per key only when every
    # version of the key is on one shard
    "livekit_dashboard_migrations": "0",
    "livekit_dashboard_api_keys": "cityHash64(KeyId)",
    "livekit_dashboard_health": "rand()",
    "lk_price_overrides": "0",
    "lk_price_state": "0",
    "lk_settle_state": "0",
    "lk_alert_rules": "cityHash64(RuleId)",
    "lk_alert_events": "cityHash64(RuleId)",
    "lk_alert_deliveries": "cityHash64(RuleId)",
}

_NAME = r"`?(\w+)`?"
_ON = r"(?:\s+ON\s+CLUSTER\s+\S+)?"
_CREATE_TABLE = re.compile(rf"^CREATE TABLE IF NOT EXISTS {_NAME}{_ON}\s*(\(.*|AS\s+{_NAME}\s+ENGINE.*)$", re.S)
_CREATE_MV = re.compile(rf"^CREATE MATERIALIZED VIEW IF NOT EXISTS {_NAME}{_ON}\s+TO\s+{_NAME}\s+AS\s(.*)$", re.S)
_FROM = re.compile(r"\bFROM\s+`?(\w+)`?")
_SOURCE = re.compile(r"\b(?:FROM|JOIN)\s+`?(\w+)`?")
_ALTER = re.compile(rf"^ALTER TABLE {_NAME}{_ON}\s+(.*)$", re.S)
_TRUNCATE = re.compile(rf"^TRUNCATE TABLE IF EXISTS {_NAME}{_ON}$")
_EXCHANGE = re.compile(rf"^EXCHANGE TABLES {_NAME} AND {_NAME}{_ON}$")
_DROP_TABLE = re.compile(rf"^DROP TABLE IF EXISTS {_NAME}{_ON}$")
_OPTIMIZE = re.compile(rf"^OPTIMIZE TABLE {_NAME}{_ON}\s+(FINAL.*)$", re.S)
_AS_IS = re.compile(
    r"^(CREATE (OR REPLACE )?VIEW|CREATE (OR REPLACE )?FUNCTION|DROP VIEW|INSERT INTO)\b",
)
_ENGINE = re.compile(r"\bENGINE\s*=\s*(Replacing|Aggregating|Summing)?MergeTree\b(\(([^()]*)\))?")


@dataclass(frozen=True, slots=True)
class Cluster:
    """A ClickHouse cluster by the name its servers' `remote_servers` give it, and our database on it."""

    name: str
    database: str
    replicated: bool = True  # Replicated*MergeTree local tables (a Keeper is needed)
    on_cluster: bool = True  # DDL runs ON CLUSTER (a Keeper is needed)

    def __post_init__(self) -> None:
        for value in (self.name, self.database):
            if not re.fullmatch(r"[A-Za-z0-9_]+", value):
                raise StorageError(f"invalid cluster or database name {value!r}: letters, digits and _ only")

    @property
    def clause(self) -> str:
        """What the schema files' `{{on_cluster}}` slot becomes."""
        return f"ON CLUSTER `{self.name}`" if self.on_cluster else ""

    @property
    def settings(self) -> dict[str, str | int]:
        """Settings for every statement: a subquery or join over a Distributed table inside a query over
        another one reads it whole once and sends it to the shards (not each shard reading every shard),
        and an insert returns when the shards have stored the rows (not when they were queued)."""
        return {"distributed_product_mode": "global", "distributed_foreground_insert": 1}

    def bootstrap(self) -> list[str]:
        """What runs before the first migration: the database on every node (a node's own connection
        creates it only there)."""
        return [f"CREATE DATABASE IF NOT EXISTS `{self.database}` {self.clause}"] if self.on_cluster else []

    def render(self, statement: str) -> list[str]:
        """One statement (a schema file's, slots filled, or a query file's) as the statements that do it on
        this cluster; comment lines are dropped."""
        text = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--")).strip()
        if match := _CREATE_TABLE.match(text):
            return self._create_table(match.group(1), match.group(2), match.group(3))
        if match := _CREATE_MV.match(text):
            return [self._materialized_view(*match.groups())]
        if match := _ALTER.match(text):
            return self._alter(match.group(1), match.group(2))
        if match := _TRUNCATE.match(text):
            return [f"TRUNCATE TABLE IF EXISTS {data_table(self, match.group(1))} {self.clause}"]
        if match := _EXCHANGE.match(text):
            left, right = match.groups()
            return [
                f"EXCHANGE TABLES {data_table(self, left)} AND {data_table(self, right)} {self.clause}",
                # the Distributed table must describe the columns of the table it now points at
                f"DROP TABLE IF EXISTS {left} {self.clause} SYNC",
                self._distributed(left),
            ]
        if match := _DROP_TABLE.match(text):
            name = match.group(1)
            return [
                f"DROP TABLE IF EXISTS {name} {self.clause} SYNC",
                f"DROP TABLE IF EXISTS {data_table(self, name)} {self.clause} SYNC",
            ]
        if match := _OPTIMIZE.match(text):
            return [f"OPTIMIZE TABLE {data_table(self, match.group(1))} {self.clause} {match.group(2)}"]
        if _AS_IS.match(text):
            return [text]
        raise StorageError(f"no cluster rendering for statement: {text[:120]}")

    def _create_table(self, name: str, body: str, like: str | None) -> list[str]:
        if name not in SHARD_KEYS:
            raise StorageError(f"table {name} has no shard key (store/cluster.py SHARD_KEYS)")
        if like is not None:  # CREATE TABLE x AS y ENGINE = ...: the local table copies y's local columns
            body = body.replace(f"AS {like}", f"AS {data_table(self, like)}", 1)
        local = f"CREATE TABLE IF NOT EXISTS {data_table(self, name)} {self.clause} {self._engine(body)}"
        return [local, self._distributed(name)]

    def _distributed(self, name: str) -> str:
        local = data_table(self, name)
        engine = f"Distributed('{self.name}', '{self.database}', '{local}', {SHARD_KEYS[name]})"
        return f"CREATE TABLE IF NOT EXISTS {name} {self.clause} AS {local} ENGINE = {engine}"

    def _engine(self, body: str) -> str:
        if not self.replicated:
            return body

        def replicated(match: re.Match[str]) -> str:
            args = ["'/clickhouse/tables/{uuid}/{shard}'", "'{replica}'"]
            if match.group(3):
                args.append(match.group(3))
            return f"ENGINE = Replicated{match.group(1) or ''}MergeTree({', '.join(args)})"

        rendered, count = _ENGINE.subn(replicated, body)
        if count != 1:
            raise StorageError(f"expected one MergeTree engine in: {body[:120]}")
        return rendered

    def _materialized_view(self, view: str, target: str, select: str) -> str:
        sources = _SOURCE.findall(select)
        if len(sources) != 1:
            raise StorageError(f"materialized view {view} must read one table, reads {sources}")
        # the view fires on inserts into the shard's local table and writes the shard's local target
        local_select = _FROM.sub(f"FROM {data_table(self, sources[0])}", select, count=1)
        return (
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {view} {self.clause} "
            f"TO {data_table(self, target)} AS {local_select}"
        )

    def _alter(self, table: str, actions: str) -> list[str]:
        parts = _split_top_level(actions)
        # a Distributed table has columns, nothing else: it follows column changes only
        columns = [part for part in parts if part.upper().startswith("ADD COLUMN")]
        out = [f"ALTER TABLE {data_table(self, table)} {self.clause} {', '.join(parts)}"]
        if columns:
            out.append(f"ALTER TABLE {table} {self.clause} {', '.join(_without_codec(c) for c in columns)}")
        return out


def data_table(cluster: Cluster | None, table: str) -> str:
    """The table that holds the rows (and their TTL, settings, parts): `t_local` on a cluster."""
    return table if cluster is None else f"{table}{LOCAL_SUFFIX}"


def _split_top_level(actions: str) -> list[str]:
    """ALTER actions split at the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(actions):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(actions[start:index].strip())
            start = index + 1
    parts.append(actions[start:].strip())
    return [part for part in parts if part]


def _without_codec(column: str) -> str:
    return re.sub(r"\s+CODEC\((?:[^()]|\([^()]*\))*\)", "", column)
