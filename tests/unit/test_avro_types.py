"""Avro -> Spark SQL types, as Spark's own Avro data source maps them."""

from __future__ import annotations

import pytest
from pyspark.sql import types as T

from palindrom.avro.spark_types import RecursiveSchemaError, to_spark


@pytest.mark.parametrize(("avro", "spark"), [
    ("boolean", T.BooleanType()), ("int", T.IntegerType()), ("long", T.LongType()), ("float", T.FloatType()),
    ("double", T.DoubleType()), ("string", T.StringType()), ("bytes", T.BinaryType()), ("null", T.NullType()),
    (["null", "string"], T.StringType()),
    (["int", "long"], T.LongType()),
    (["null", "float", "double"], T.DoubleType()),
    (["int", "string"], T.StructType([T.StructField("member0", T.IntegerType()),
                                     T.StructField("member1", T.StringType())])),
    ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, T.StringType()),
    ({"type": "string", "logicalType": "uuid"}, T.StringType()),
    ({"type": "fixed", "name": "F", "size": 4}, T.BinaryType()),
    ({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}, T.DecimalType(9, 2)),
    ({"type": "fixed", "name": "D", "size": 8, "logicalType": "decimal", "precision": 18}, T.DecimalType(18, 0)),
    ({"type": "int", "logicalType": "date"}, T.DateType()),
    ({"type": "long", "logicalType": "timestamp-millis"}, T.TimestampType()),
    ({"type": "long", "logicalType": "timestamp-micros"}, T.TimestampType()),
    ({"type": "long", "logicalType": "local-timestamp-millis"}, T.TimestampNTZType()),
    ({"type": "long", "logicalType": "local-timestamp-micros"}, T.TimestampNTZType()),
    ({"type": "map", "values": "long"}, T.MapType(T.StringType(), T.LongType(), False)),
    ({"type": "array", "items": ["null", "int"]}, T.ArrayType(T.IntegerType(), True)),
])
def test_mapping(avro, spark):
    assert to_spark(avro) == spark


def test_record_fields_are_nullable_only_when_the_union_has_null():
    schema = {"type": "record", "name": "Event", "namespace": "app", "fields": [
        {"name": "id", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "origin", "type": {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "double"}]}},
        {"name": "destination", "type": "Point"},  # a named type used again by name
    ]}
    point = T.StructType([T.StructField("x", T.DoubleType(), False)])
    assert to_spark(schema) == T.StructType([
        T.StructField("id", T.StringType(), False), T.StructField("note", T.StringType(), True),
        T.StructField("origin", point, False), T.StructField("destination", point, False),
    ])


def test_recursive_records_are_refused_by_name():
    node = {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "long"}, {"name": "next", "type": ["null", "Node"]}]}
    with pytest.raises(RecursiveSchemaError, match="'Node'"):
        to_spark(node)
