"""Hypothesis strategies: Avro record schemas, records that fit them, and the Spark values expected
after decoding (Spark's Avro mapping, NOTES §5), written independently of the code under test."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import uuid
from typing import Any

from hypothesis import strategies as st

_names = itertools.count()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _name(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


# Each leaf: (avro type, value strategy, expected Spark value of a Python value)
def _same(v: Any) -> Any:
    return v


def _float32(v: float) -> float:
    return v


LEAVES: list[tuple[Any, st.SearchStrategy[Any], Any]] = [
    ("boolean", st.booleans(), _same),
    ("int", st.integers(-(2**31), 2**31 - 1), _same),
    ("long", st.integers(-(2**63), 2**63 - 1), _same),
    ("float", st.floats(width=32, allow_nan=False), _float32),
    ("double", st.floats(allow_nan=False), _same),
    ("string", st.text(max_size=12), _same),
    ("bytes", st.binary(max_size=12), bytes),
    ({"type": "int", "logicalType": "date"}, st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1)), _same),
    ({"type": "long", "logicalType": "timestamp-millis"},
     st.integers(-(2**40), 2**42).map(lambda ms: EPOCH + dt.timedelta(milliseconds=ms)), _same),
    ({"type": "long", "logicalType": "timestamp-micros"},
     st.integers(-(2**50), 2**52).map(lambda us: EPOCH + dt.timedelta(microseconds=us)), _same),
    ({"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3},
     st.integers(-(10**12) + 1, 10**12 - 1).map(lambda n: decimal.Decimal(n).scaleb(-3)), _same),
    ({"type": "string", "logicalType": "uuid"}, st.uuids(), str),
    # Spark reads time-of-day as the plain count (int millis, long micros), as its Avro reader does.
    ({"type": "int", "logicalType": "time-millis"}, st.times().map(lambda t: t.replace(microsecond=t.microsecond
                                                                                     // 1000 * 1000)),
     lambda t: ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.microsecond // 1000),
    ({"type": "long", "logicalType": "time-micros"}, st.times(),
     lambda t: ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond),
]


@st.composite
def avro_type(draw: st.DrawFn, depth: int = 0) -> tuple[Any, st.SearchStrategy[Any], Any]:
    choice = draw(st.integers(0, 9 if depth < 2 else 4))
    if choice <= 4:
        return draw(st.sampled_from(LEAVES))
    if choice == 5:   # nullable (a union cannot hold another union)
        inner, values, expect = draw(avro_type(depth + 1))
        if isinstance(inner, list):
            return inner, values, expect
        return ["null", inner], st.none() | values, lambda v: None if v is None else expect(v)
    if choice == 6:   # enum
        symbols = draw(st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,5}", fullmatch=True), min_size=1, max_size=4,
                                unique=True))
        return {"type": "enum", "name": _name("E"), "symbols": symbols}, st.sampled_from(symbols), _same
    if choice == 7:   # array / map
        inner, values, expect = draw(avro_type(depth + 1))
        if draw(st.booleans()):
            return {"type": "array", "items": inner}, st.lists(values, max_size=3), lambda v: [expect(x) for x in v]
        return ({"type": "map", "values": inner}, st.dictionaries(st.text(max_size=5), values, max_size=3),
                lambda v: {k: expect(x) for k, x in v.items()})
    if choice == 8:   # a union Spark turns into struct<member0, member1>
        return (["null", "int", "string"], st.none() | st.integers(-(2**31), 2**31 - 1) | st.text(max_size=6),
                lambda v: None if v is None else {"member0": v if isinstance(v, int) else None,
                                                  "member1": v if isinstance(v, str) else None})
    if choice == 9:   # fixed
        size = draw(st.integers(1, 6))
        return {"type": "fixed", "name": _name("F"), "size": size}, st.binary(min_size=size, max_size=size), bytes
    return draw(record_type(depth + 1))


@st.composite
def record_type(draw: st.DrawFn, depth: int = 0) -> tuple[Any, st.SearchStrategy[Any], Any]:
    count = draw(st.integers(1, 5))
    fields = [(f"f{i}", draw(avro_type(depth))) for i in range(count)]
    schema = {"type": "record", "name": _name("R"), "fields": [{"name": n, "type": t[0]} for n, t in fields]}
    values = st.fixed_dictionaries({n: t[1] for n, t in fields})
    return schema, values, lambda v: {n: t[2](v[n]) for n, t in fields}


@st.composite
def schema_and_records(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(record schema, records, the Spark values each record must decode to)."""
    schema, values, expect = draw(record_type())
    records = draw(st.lists(values, min_size=1, max_size=6))
    return schema, records, [expect(r) for r in records]


def spark_value(value: Any) -> Any:
    """A collected Spark value in the plain form the strategies' expectations use."""
    if hasattr(value, "asDict"):
        return {k: spark_value(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {k: spark_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [spark_value(v) for v in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)   # the suite's server runs with session time zone UTC
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
