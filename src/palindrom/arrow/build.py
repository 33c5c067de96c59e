"""Turn decoded records into Arrow batches of the stream's schema, rescuing what does not fit.

A value whose type does not match its column, and a field the schema does not have, go to the
rescued-data column as JSON (with ``_file_path``), exactly as Auto Loader's rescue does. A record
that could not be decoded at all becomes a row of nulls whose rescued data holds the raw text and
the reason. Without a rescued-data column such losses are reported to the caller instead.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema


class Mismatch(Exception):
    pass


_INT_RANGES: dict[type[T.DataType], int] = {T.ByteType: 8, T.ShortType: 16, T.IntegerType: 32, T.LongType: 64}


def _parse_timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T", 1))
    return value


def coerce(value: Any, dtype: T.DataType) -> Any:
    """``value`` converted to ``dtype``'s Python form, or :class:`Mismatch`."""
    if value is None:
        return None
    try:
        return _coerce(value, dtype)
    except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
        raise Mismatch(str(exc)) from exc


def _coerce(value: Any, dtype: T.DataType) -> Any:
    if isinstance(dtype, T.StringType):
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=str)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (bytes, bytearray)):
            raise Mismatch("binary value for a string column")
        return str(value)
    if type(dtype) in _INT_RANGES:
        if isinstance(value, bool) or isinstance(value, float):
            raise Mismatch(f"{value!r} is not an integer")
        number = int(value.strip()) if isinstance(value, str) else int(value)
        bits = _INT_RANGES[type(dtype)]
        if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
            raise Mismatch(f"{number} out of range for {dtype.simpleString()}")
        return number
    if isinstance(dtype, (T.DoubleType, T.FloatType)):
        if isinstance(value, bool):
            raise Mismatch("boolean for a numeric column")
        return float(value.strip()) if isinstance(value, str) else float(value)
    if isinstance(dtype, T.BooleanType):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise Mismatch(f"{value!r} is not a boolean")
    if isinstance(dtype, T.DecimalType):
        if isinstance(value, (bool, float)) and not isinstance(value, bool):
            value = repr(value)
        exact = decimal.Decimal(str(value).strip()).quantize(decimal.Decimal(1).scaleb(-dtype.scale))
        if len(exact.as_tuple().digits) > dtype.precision:
            raise Mismatch(f"{value} exceeds {dtype.simpleString()}")
        return exact
    if isinstance(dtype, T.DateType):
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value).strip())
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        stamp = value if isinstance(value, dt.datetime) else _parse_timestamp(str(value))
        if isinstance(dtype, T.TimestampType):
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.UTC)
            return stamp.astimezone(dt.UTC)
        return stamp.replace(tzinfo=None)
    if isinstance(dtype, T.BinaryType):
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise Mismatch("not binary data")
    if isinstance(dtype, T.ArrayType):
        if not isinstance(value, (list, tuple)):
            raise Mismatch("not an array")
        return [coerce(v, dtype.elementType) for v in value]
    if isinstance(dtype, T.MapType):
        if not isinstance(value, dict):
            raise Mismatch("not a map")
        return [(str(k), coerce(v, dtype.valueType)) for k, v in value.items()]
    if isinstance(dtype, T.StructType):
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, dict):
            raise Mismatch("not an object")
        unknown = set(value) - set(dtype.names)
        if unknown:
            raise Mismatch(f"unknown nested fields {sorted(unknown)}")
        return {f.name: coerce(value.get(f.name), f.dataType) for f in dtype.fields}
    raise Mismatch(f"unsupported column type {dtype.simpleString()}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def to_json(mapping: dict[str, Any]) -> str:
    return json.dumps(mapping, default=_jsonable, sort_keys=False)


Repair = Callable[[dict[str, list[Any]], int, str], None]


class BatchBuilder:
    """Accumulates rows column-wise and emits Arrow record batches of ``schema``.

    ``checked`` names a column whose values are added unconverted, trusted to fit (decoded with a
    reader schema): Arrow converts the whole column at once. Should that fail, the column is
    coerced value by value, and ``repair(columns, row, reason)`` is told of each value that does
    not fit (which is then set to None), so the caller can keep the row as a dead letter.
    """

    def __init__(self, schema: T.StructType, checked: str | None = None, repair: Repair | None = None) -> None:
        self.schema = schema
        self.arrow_schema = to_arrow_schema(schema, timezone="UTC", prefers_large_types=False)
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        self.size = 0
        self.checked = checked
        self.repair = repair

    def add(self, row: dict[str, Any]) -> None:
        for name, column in self.columns.items():
            column.append(row.get(name))
        self.size += 1

    def extend(self, columns: dict[str, list[Any]]) -> None:
        """Whole columns at once (each as long as the others; columns not given are null)."""
        count = len(next(iter(columns.values()))) if columns else 0
        for name, column in self.columns.items():
            column.extend(columns[name] if name in columns else [None] * count)
        self.size += count

    def _checked_array(self) -> dict[str, pa.Array]:
        if self.checked is None:
            return {}
        arrow_type = self.arrow_schema.field(self.checked).type
        try:
            return {self.checked: pa.array(self.columns[self.checked], type=arrow_type)}
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            dtype = self.schema[self.checked].dataType
            values = self.columns[self.checked]
            for row, value in enumerate(values):
                try:
                    values[row] = coerce(value, dtype)
                except Mismatch as exc:
                    if self.repair is None:
                        raise
                    self.repair(self.columns, row, str(exc))
                    values[row] = None
            return {self.checked: pa.array(values, type=arrow_type)}

    def flush(self) -> pa.RecordBatch:
        built = self._checked_array()
        arrays = [built[f.name] if f.name in built else pa.array(self.columns[f.name], type=f.type)
                  for f in self.arrow_schema]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema)
        self.columns = {name: [] for name in self.schema.names}
        self.size = 0
        return batch


def batches(rows: Iterable[dict[str, Any]], schema: T.StructType, size: int = 10_000) -> Iterable[pa.RecordBatch]:
    builder = BatchBuilder(schema)
    for row in rows:
        builder.add(row)
        if builder.size >= size:
            yield builder.flush()
    if builder.size:
        yield builder.flush()
