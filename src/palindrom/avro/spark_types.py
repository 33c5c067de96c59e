"""Avro schema -> Spark SQL type, matching Spark's own spark-avro mapping (SchemaConverters)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import types as T


class RecursiveSchemaError(ValueError):
    pass


_PRIMITIVES: dict[str, T.DataType] = {
    "null": T.NullType(), "boolean": T.BooleanType(), "int": T.IntegerType(), "long": T.LongType(),
    "float": T.FloatType(), "double": T.DoubleType(), "bytes": T.BinaryType(), "string": T.StringType(),
}


def to_spark(schema: Any, _seen: tuple[str, ...] = (), _named: dict[str, Any] | None = None) -> T.DataType:
    named = {} if _named is None else _named
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        if schema in _seen:
            raise RecursiveSchemaError(f"Found recursive reference in Avro schema: '{schema}'. "
                                       "Spark SQL types cannot represent recursive records.")
        if schema in named:
            return to_spark(named[schema], _seen, named)
        raise ValueError(f"Unknown Avro type '{schema}'.")
    if isinstance(schema, list):
        return _union(schema, _seen, named)
    kind, logical = schema["type"], schema.get("logicalType")
    if logical == "decimal" and kind in ("bytes", "fixed"):
        return T.DecimalType(int(schema["precision"]), int(schema.get("scale", 0)))
    if logical == "date" and kind == "int":
        return T.DateType()
    if logical in ("timestamp-millis", "timestamp-micros") and kind == "long":
        return T.TimestampType()
    if logical in ("local-timestamp-millis", "local-timestamp-micros") and kind == "long":
        return T.TimestampNTZType()
    if logical == "uuid":
        return T.StringType()
    if kind == "record":
        name = schema.get("namespace", "") + "." + schema["name"] if schema.get("namespace") else schema["name"]
        named[name] = schema
        named[schema["name"]] = schema
        if name in _seen:
            raise RecursiveSchemaError(f"Found recursive reference in Avro schema: '{name}'.")
        return T.StructType([
            T.StructField(f["name"], to_spark(f["type"], (*_seen, name, schema["name"]), named),
                          nullable=_nullable(f["type"]))
            for f in schema["fields"]
        ])
    if kind == "enum":
        named[schema["name"]] = schema
        return T.StringType()
    if kind == "fixed":
        named[schema["name"]] = schema
        return T.BinaryType()
    if kind == "array":
        return T.ArrayType(to_spark(schema["items"], _seen, named), containsNull=_nullable(schema["items"]))
    if kind == "map":
        return T.MapType(T.StringType(), to_spark(schema["values"], _seen, named),
                         valueContainsNull=_nullable(schema["values"]))
    return to_spark(kind, _seen, named)


def _nullable(schema: Any) -> bool:
    return (isinstance(schema, list) and "null" in schema) or schema == "null"


def _union(members: list[Any], seen: tuple[str, ...], named: dict[str, Any]) -> T.DataType:
    non_null = [m for m in members if m != "null"]
    if len(non_null) == 1:
        return to_spark(non_null[0], seen, named)
    if sorted(map(str, non_null)) == ["int", "long"]:
        return T.LongType()
    if sorted(map(str, non_null)) == ["double", "float"]:
        return T.DoubleType()
    return T.StructType([T.StructField(f"member{i}", to_spark(m, seen, named), True)
                         for i, m in enumerate(non_null)])
