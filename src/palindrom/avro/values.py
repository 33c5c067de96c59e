"""fastavro's decoded values -> the values of Spark's Avro type mapping (``spark_types.to_spark``).

Only unions need work: ``[null, T]``, ``[int, long]`` and ``[float, double]`` keep the value; any
other union becomes a struct ``member0..N`` with the value in the branch it matches.
"""

from __future__ import annotations

from typing import Any

from fastavro.validation import validate


def to_spark_value(schema: Any, value: Any, named: dict[str, Any] | None = None) -> Any:
    named = {} if named is None else named
    if value is None:
        return None
    if isinstance(schema, str):
        return to_spark_value(named[schema], value, named) if schema in named else value
    if isinstance(schema, list):
        return _union(schema, value, named)
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        named[schema["name"]] = schema
        if schema.get("namespace"):
            named[f"{schema['namespace']}.{schema['name']}"] = schema
    if kind == "record":
        return {f["name"]: to_spark_value(f["type"], value.get(f["name"]), named) for f in schema["fields"]}
    if kind == "array":
        return [to_spark_value(schema["items"], v, named) for v in value]
    if kind == "map":
        return {k: to_spark_value(schema["values"], v, named) for k, v in value.items()}
    if isinstance(kind, (list, dict)):
        return to_spark_value(kind, value, named)
    return value


def _union(members: list[Any], value: Any, named: dict[str, Any]) -> Any:
    non_null = [m for m in members if m != "null"]
    if len(non_null) == 1:
        return to_spark_value(non_null[0], value, named)
    if sorted(map(str, non_null)) in (["int", "long"], ["double", "float"]):
        return value
    out: dict[str, Any] = {f"member{i}": None for i in range(len(non_null))}
    for i, member in enumerate(non_null):
        resolved = named.get(member, member) if isinstance(member, str) else member
        if validate(value, resolved, raise_errors=False):
            out[f"member{i}"] = to_spark_value(member, value, named)
            return out
    raise ValueError(f"value {value!r} matches no branch of union {members}")
