"""Values shaped to a Spark schema and handed over as Arrow batches, or rejected with a reason."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import types as T

from palindrom.arrow import build

UTC = dt.UTC
stamps = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 1, 1),
                      timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=d.microsecond))
decimals = st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
COLUMNS: list[tuple[T.DataType, st.SearchStrategy[object]]] = [
    (T.LongType(), st.integers(-(2**63), 2**63 - 1)),
    (T.IntegerType(), st.integers(-(2**31), 2**31 - 1)),
    (T.DoubleType(), st.floats(allow_nan=False)),
    (T.StringType(), st.text(max_size=20)),
    (T.BooleanType(), st.booleans()),
    (T.DecimalType(10, 2), decimals),
    (T.DateType(), st.dates(min_value=dt.date(1, 1, 1))),
    (T.TimestampType(), stamps),
    (T.BinaryType(), st.binary(max_size=10)),
    (T.ArrayType(T.LongType()), st.lists(st.integers(-(2**63), 2**63 - 1) | st.none(), max_size=4)),
    (T.MapType(T.StringType(), T.DoubleType()), st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False),
                                                                max_size=3)),
    (T.StructType([T.StructField("x", T.LongType()), T.StructField("y", T.StringType())]),
     st.fixed_dictionaries({"x": st.integers(0, 10**9) | st.none(), "y": st.text(max_size=5) | st.none()})),
]
SCHEMA = T.StructType([T.StructField(f"c{i}", dtype, True) for i, (dtype, _) in enumerate(COLUMNS)])
rows = st.lists(st.fixed_dictionaries({f"c{i}": values | st.none() for i, (_, values) in enumerate(COLUMNS)}),
                min_size=1, max_size=30)


def _expected(value: object, dtype: T.DataType) -> object:
    if isinstance(dtype, T.MapType) and isinstance(value, dict):
        return list(value.items())
    return value


@settings(max_examples=80, deadline=None)
@given(rows, st.integers(1, 7))
def test_rows_round_trip_through_arrow_batches(records, batch_size):
    coerced = [{name: build.coerce(row[name], SCHEMA[name].dataType) for name in SCHEMA.names} for row in records]
    batches = list(build.batches(coerced, SCHEMA, size=batch_size))
    assert [b.num_rows for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    back = [row for batch in batches for row in batch.to_pylist()]
    assert back == [{n: _expected(r[n], SCHEMA[n].dataType) for n in SCHEMA.names} for r in records]


@pytest.mark.parametrize(("value", "dtype", "expected"), [
    ("42", T.LongType(), 42),
    (" 7 ", T.IntegerType(), 7),
    ("2.50", T.DecimalType(10, 2), decimal.Decimal("2.50")),
    (1.1, T.DecimalType(5, 1), decimal.Decimal("1.1")),
    ("TRUE", T.BooleanType(), True),
    ("2026-03-01T10:00:00Z", T.TimestampType(), dt.datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ("2026-03-01 12:00:00+02:00", T.TimestampType(), dt.datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ("2026-03-01T10:00:00", T.TimestampNTZType(), dt.datetime(2026, 3, 1, 10)),
    ({"a": 1}, T.StringType(), '{"a": 1}'),
    (False, T.StringType(), "false"),
])
def test_conversions(value, dtype, expected):
    assert build.coerce(value, dtype) == expected


@pytest.mark.parametrize(("value", "dtype", "reason"), [
    ("abc", T.LongType(), "invalid literal"),
    (2**31, T.IntegerType(), "out of range for int"),
    (True, T.LongType(), "not an integer"),
    (1.5, T.LongType(), "not an integer"),
    ("12345678.9", T.DecimalType(5, 1), "exceeds decimal"),
    ("yes", T.BooleanType(), "not a boolean"),
    ("soon", T.TimestampType(), "Invalid isoformat"),
    ("x", T.ArrayType(T.LongType()), "not an array"),
    ({"z": 1}, T.StructType([T.StructField("x", T.LongType())]), "unknown nested fields"),
    (b"\x00", T.StringType(), "binary value"),
])
def test_mismatches_say_why(value, dtype, reason):
    with pytest.raises(build.Mismatch, match=reason):
        build.coerce(value, dtype)


def test_a_checked_column_is_converted_per_batch_and_misfits_are_handed_to_repair():
    schema = T.StructType([T.StructField("payload", T.StructType([T.StructField("n", T.IntegerType()),
                                                                   T.StructField("tags", T.MapType(T.StringType(),
                                                                                                   T.StringType()))])),
                           T.StructField("error", T.StringType())])
    repaired: list[tuple[int, object, str]] = []

    def repair(columns: dict[str, list[object]], row: int, reason: str) -> None:
        repaired.append((row, columns["payload"][row], reason))
        columns["error"][row] = f"misfit: {reason}"

    builder = build.BatchBuilder(schema, checked="payload", repair=repair)
    for payload in ({"n": 1, "tags": {"a": "b"}}, {"n": 2**40, "tags": {}}, None, {"n": 3, "tags": None}):
        builder.add({"payload": payload, "error": None})
    batch = builder.flush().to_pylist()
    assert [r["payload"] for r in batch] == [{"n": 1, "tags": [("a", "b")]}, None, None, {"n": 3, "tags": None}]
    assert [r["error"] for r in batch] == [None, "misfit: " + repaired[0][2], None, None]
    assert repaired[0][:2] == (1, {"n": 2**40, "tags": {}})     # repair sees the value before it is cleared
    # Without repair a misfit is not dropped quietly: the batch fails.
    strict = build.BatchBuilder(schema, checked="payload")
    strict.add({"payload": {"n": "x", "tags": None}, "error": None})
    with pytest.raises(build.Mismatch):
        strict.flush()
