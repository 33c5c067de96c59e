"""fastavro's decoded values -> the values of Spark's Avro type mapping (``spark_types.to_spark``).

Unions: ``[null, T]``, ``[int, long]`` and ``[float, double]`` keep the value; any other union
becomes a struct ``member0..N`` with the value in the branch it matches. Logical types fastavro
returns as Python objects Spark reads differently: ``time-millis`` and ``time-micros`` are the plain
int and long counts. A ``uuid`` string is read as the string written (Spark's Avro reader neither
parses nor re-formats it): decoders read with :func:`as_spark_reads` applied to their schemas, so
fastavro never builds a ``uuid.UUID`` (a quarter of the decoding time of the app events).

``converter`` compiles a schema once into a function that touches only the parts of a record that
need it (for most schemas, none), so decoding does no per-field work for the rest; compile once per
schema (per file or per worker), never per record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastavro.validation import validate

Convert = Callable[[Any], Any]


def _time_count(unit: int) -> Convert:
    def count(value: Any) -> Any:
        if isinstance(value, dt.time):
            seconds = (value.hour * 60 + value.minute) * 60 + value.second
            return seconds * unit + value.microsecond * unit // 1_000_000
        return value
    return count


def as_spark_reads(schema: Any) -> Any:
    """``schema`` with each ``uuid`` string a plain string: decoded with it, fastavro returns the
    string as written, as Spark does, instead of a ``uuid.UUID`` (which also refused strings that
    are not UUIDs, where Spark keeps them)."""
    if isinstance(schema, list):
        return [as_spark_reads(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "string" and schema.get("logicalType") == "uuid":
        return "string"
    out = dict(schema)
    for key in ("type", "items", "values"):
        if isinstance(out.get(key), (dict, list)):
            out[key] = as_spark_reads(out[key])
    if isinstance(out.get("fields"), list):
        out["fields"] = [{**f, "type": as_spark_reads(f["type"])} for f in out["fields"]]
    return out


def converter(schema: Any) -> Convert | None:
    """A function from fastavro's value to Spark's for ``schema``; None when values need no change."""
    named: dict[str, Any] = {}
    building: set[str] = set()

    def compile_(node: Any) -> Convert | None:
        if isinstance(node, str):
            if node in named:
                return compile_(named[node]) if node not in building else None
            return None
        if isinstance(node, list):
            return _compile_union(node)
        kind, logical = node["type"], node.get("logicalType")
        if logical == "time-millis" and kind == "int":
            return _time_count(1_000)
        if logical == "time-micros" and kind == "long":
            return _time_count(1_000_000)
        if kind in ("record", "error", "enum", "fixed"):
            named[node["name"]] = node
            if node.get("namespace"):
                named[f"{node['namespace']}.{node['name']}"] = node
        if kind in ("record", "error"):
            building.add(node["name"])
            fields = [(f["name"], compile_(f["type"])) for f in node["fields"]]
            building.discard(node["name"])
            active = [(name, f) for name, f in fields if f is not None]
            if not active:
                return None

            def record(value: Any) -> Any:
                if value is None:
                    return None
                out = dict(value)
                for name, convert in active:
                    if out.get(name) is not None:
                        out[name] = convert(out[name])
                return out
            return record
        if kind == "array":
            item = compile_(node["items"])
            return None if item is None else (lambda v: None if v is None else [None if x is None else item(x)
                                                                                 for x in v])
        if kind == "map":
            entry = compile_(node["values"])
            return None if entry is None else (lambda v: None if v is None else {
                k: None if x is None else entry(x) for k, x in v.items()})
        if isinstance(kind, (list, dict)):
            return compile_(kind)
        return None

    def _compile_union(members: list[Any]) -> Convert | None:
        non_null = [m for m in members if m != "null"]
        if len(non_null) == 1:
            return compile_(non_null[0])
        if sorted(map(str, non_null)) in (["int", "long"], ["double", "float"]):
            return None
        converts = [compile_(m) for m in non_null]     # also registers the named branches
        branches = [named.get(m, m) if isinstance(m, str) else m for m in non_null]

        def union(value: Any) -> Any:
            if value is None:
                return None
            for i, (branch, convert) in enumerate(zip(branches, converts, strict=True)):
                if validate(value, branch, raise_errors=False):
                    out: dict[str, Any] = {f"member{j}": None for j in range(len(non_null))}
                    out[f"member{i}"] = value if convert is None else convert(value)
                    return out
            raise ValueError(f"value {value!r} matches no branch of union {members}")
        return union

    return compile_(schema)


def identity(value: Any) -> Any:
    return value
