"""Columns: build Arrow Map and List columns from flat keys/values plus offsets.

Converting per-row lists of (key, value) tuples was most of the ingest CPU; appending to flat
lists and handing Arrow one offsets array per column is several times cheaper.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from livekit_dashboard.ingest.attributes import any_value_to_str

__all__ = ["MapColumn", "append_attributes"]

_STRING = pa.string()


def append_attributes(attributes: Iterable[Any], keys: list[str], values: list[str]) -> int:
    """Append KeyValues as strings; returns how many were appended. Duplicate keys: the last wins."""
    start = len(keys)
    add_key, add_value = keys.append, values.append
    for kv in attributes:
        value = kv.value
        add_key(kv.key)
        # strings and integers are nearly all LiveKit attributes: skip the generic conversion for them
        kind = value.WhichOneof("value")
        if kind == "string_value":
            add_value(value.string_value)
        elif kind == "int_value":
            add_value(str(value.int_value))
        else:
            add_value(any_value_to_str(value))
    added = len(keys) - start
    if added > 1 and len(set(keys[start:])) != added:
        merged = dict(zip(keys[start:], values[start:], strict=True))
        del keys[start:], values[start:]
        keys.extend(merged)
        values.extend(merged.values())
        added = len(merged)
    return added


class MapColumn:
    """A Map(String, String) column (or, with nested=True, an Array of such maps) under construction."""

    __slots__ = ("keys", "list_offsets", "offsets", "values")

    def __init__(self, nested: bool = False) -> None:
        self.keys: list[str] = []
        self.values: list[str] = []
        self.offsets: list[int] = [0]
        self.list_offsets: list[int] | None = [0] if nested else None

    def add(self, attributes: Iterable[Any]) -> None:
        """One map (one row, or one element of a row's array)."""
        append_attributes(attributes, self.keys, self.values)
        self.offsets.append(len(self.keys))

    def add_pairs(self, keys: list[str], values: list[str]) -> None:
        self.keys.extend(keys)
        self.values.extend(values)
        self.offsets.append(len(self.keys))

    def end_row(self) -> None:
        """Nested columns: close the current row's array."""
        assert self.list_offsets is not None
        self.list_offsets.append(len(self.offsets) - 1)

    def to_arrow(self) -> pa.Array:
        maps = pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()), pa.array(self.keys, _STRING), pa.array(self.values, _STRING)
        )
        if self.list_offsets is None:
            return maps
        return pa.ListArray.from_arrays(pa.array(self.list_offsets, pa.int32()), maps)
