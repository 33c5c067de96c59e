"""The worker-side DDL parser agrees with Spark's own parser (Python workers cannot call Spark's)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import types as T

from palindrom.autoloader.ddl import DdlError, parse_struct

_SIMPLE = [T.BooleanType(), T.ByteType(), T.ShortType(), T.IntegerType(), T.LongType(), T.FloatType(),
           T.DoubleType(), T.StringType(), T.BinaryType(), T.DateType(), T.TimestampType(), T.TimestampNTZType()]
names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


def _types(depth: int = 2) -> st.SearchStrategy[T.DataType]:
    simple = st.sampled_from(_SIMPLE) | st.builds(
        lambda p, s: T.DecimalType(p, min(s, p)), st.integers(1, 38), st.integers(0, 18))
    if depth == 0:
        return simple
    inner = _types(depth - 1)
    return simple | st.builds(lambda t: T.ArrayType(t, True), inner) | st.builds(
        lambda k, v: T.MapType(k, v, True), st.sampled_from([T.StringType(), T.IntegerType()]), inner) | _structs(
        inner)


def _structs(inner: st.SearchStrategy[T.DataType]) -> st.SearchStrategy[T.StructType]:
    return st.lists(st.tuples(names, inner), min_size=1, max_size=4, unique_by=lambda f: f[0]).map(
        lambda fields: T.StructType([T.StructField(n, t, True) for n, t in fields]))


def _ddl(struct: T.StructType) -> str:
    return ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in struct.fields)


@settings(max_examples=60, deadline=None)
@given(_structs(_types()))
def test_parses_like_spark(spark_server, struct):
    text = _ddl(struct)
    assert parse_struct(text) == spark_server.session.createDataFrame([], schema=text).schema
    assert parse_struct(text) == struct


@pytest.mark.parametrize(("text", "expected"), [
    ("a INT, b STRING", T.StructType([T.StructField("a", T.IntegerType()), T.StructField("b", T.StringType())])),
    ("amount DECIMAL(10,2)", T.StructType([T.StructField("amount", T.DecimalType(10, 2))])),
    ("v VARCHAR(20)", T.StructType([T.StructField("v", T.StringType())])),
    ("s STRUCT<x: BIGINT, y: ARRAY<DOUBLE>>", T.StructType([T.StructField("s", T.StructType([
        T.StructField("x", T.LongType()), T.StructField("y", T.ArrayType(T.DoubleType()))]))])),
])
def test_spellings(text, expected):
    assert parse_struct(text) == expected


@pytest.mark.parametrize("text", ["a INTEGR", "a ARRAY<INT", "a DECIMAL(10,", "a MAP<STRING>"])
def test_errors_quote_the_definition(text):
    with pytest.raises(DdlError) as error:
        parse_struct(text)
    assert f"'{text}'" in str(error.value)
