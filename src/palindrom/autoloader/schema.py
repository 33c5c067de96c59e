"""The stream's schema: given, inferred from a sample of files, hinted, and persisted.

Inferred schemas are stored under ``cloudFiles.schemaLocation`` (``_schemas/<version>.json``) so a
restart reads the same schema; ``addNewColumns`` writes a new version when new columns appear and
stops the stream, like Databricks, and the next start picks the evolved schema up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

from pyspark.sql import types as T

from palindrom.autoloader import decode, discovery
from palindrom.autoloader.ddl import parse_struct
from palindrom.autoloader.options import METADATA, CloudFilesOptions
from palindrom.avro.spark_types import to_spark

SAMPLE_FILES = 50
SAMPLE_RECORDS = 1000
METADATA_TYPE = T.StructType([
    T.StructField("file_path", T.StringType(), False),
    T.StructField("file_name", T.StringType(), False),
    T.StructField("file_size", T.LongType(), False),
    T.StructField("file_modification_time", T.TimestampType(), False),
])


def infer_value(value: Any, typed: bool, text: bool = False) -> T.DataType:
    """A value's type as Auto Loader infers it: every leaf a string unless ``inferColumnTypes``;
    then JSON's own types (a JSON string stays a string) or, for text formats such as CSV
    (``text``), the type Spark's CSV inference reads the text as. ``None`` has no type yet
    (:data:`T.NullType`): it takes the type of the column's other values, string if all are null."""
    if isinstance(value, dict):
        return T.StructType([T.StructField(k, infer_value(v, typed, text), True) for k, v in value.items()])
    if isinstance(value, list):
        inner = [infer_value(v, typed, text) for v in value if v is not None]
        return T.ArrayType(merge_types(inner) if inner else T.NullType(), True)
    if value is None:
        return T.NullType()
    if not typed:
        return T.StringType()
    if isinstance(value, bool):
        return T.BooleanType()
    if isinstance(value, int):
        return T.LongType() if -(2**63) <= value < 2**63 else T.DecimalType(min(len(str(abs(value))), 38), 0)
    if isinstance(value, float):
        return T.DoubleType()
    if isinstance(value, str) and text:
        return _text_type(value)
    return T.StringType()


_INTEGER = re.compile(r"[+-]?\d+")
_FLOATING = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:NaN|Infinity|Inf)")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?")


def _text_type(value: str) -> T.DataType:
    """Spark's CSV inference of one field: int, long, decimal (integers beyond long), double,
    timestamp, boolean, else string."""
    if _INTEGER.fullmatch(value):
        number = int(value)
        if -(2**31) <= number < 2**31:
            return T.IntegerType()
        if -(2**63) <= number < 2**63:
            return T.LongType()
        digits = len(value.lstrip("+-"))
        return T.DecimalType(digits, 0) if digits <= 38 else T.DoubleType()
    if _FLOATING.fullmatch(value):
        return T.DoubleType()
    if _TIMESTAMP.fullmatch(value):
        return T.TimestampType()
    if value.lower() in ("true", "false"):
        return T.BooleanType()
    return T.StringType()


_NUMERIC_ORDER: list[type[T.DataType]] = [T.IntegerType, T.LongType, T.DecimalType, T.DoubleType]


def _merge(a: T.DataType, b: T.DataType) -> T.DataType:
    if a == b:
        return a
    if isinstance(a, T.NullType):
        return b
    if isinstance(b, T.NullType):
        return a
    if isinstance(a, T.StructType) and isinstance(b, T.StructType):
        fields = {f.name: f.dataType for f in a.fields}
        for f in b.fields:
            fields[f.name] = _merge(fields[f.name], f.dataType) if f.name in fields else f.dataType
        return T.StructType([T.StructField(n, t, True) for n, t in fields.items()])
    if isinstance(a, T.ArrayType) and isinstance(b, T.ArrayType):
        return T.ArrayType(_merge(a.elementType, b.elementType), True)
    if type(a) in _NUMERIC_ORDER and type(b) in _NUMERIC_ORDER:
        if isinstance(a, T.DecimalType) and isinstance(b, T.DecimalType):
            return T.DecimalType(min(max(a.precision, b.precision), 38), 0)
        wider = max(_NUMERIC_ORDER.index(type(a)), _NUMERIC_ORDER.index(type(b)))
        if _NUMERIC_ORDER[wider] is T.DecimalType:  # a long and a decimal beyond it: the decimal
            return a if isinstance(a, T.DecimalType) else b
        return _NUMERIC_ORDER[wider]()
    return T.StringType()


def merge_types(types: list[T.DataType]) -> T.DataType:
    result = types[0]
    for t in types[1:]:
        result = _merge(result, t)
    return result


def without_null_types(dtype: T.DataType) -> T.DataType:
    """Columns (and array elements) only ever null are inferred as strings."""
    if isinstance(dtype, T.NullType):
        return T.StringType()
    if isinstance(dtype, T.StructType):
        return T.StructType([T.StructField(f.name, without_null_types(f.dataType), True) for f in dtype.fields])
    if isinstance(dtype, T.ArrayType):
        return T.ArrayType(without_null_types(dtype.elementType), True)
    return dtype


def infer(options: CloudFilesOptions) -> T.StructType:
    """Infer a schema from up to 50 files / 1000 records (json/csv: strings unless inferColumnTypes)."""
    files = discovery.listed(options)[:SAMPLE_FILES]
    struct = T.StructType([])
    typed = options.infer_column_types
    text = options.format == "csv"
    for entry in files:
        path = Path(entry.path)
        declared = decode.file_schema(path, options)
        if declared is not None:
            found = _declared_struct(declared)
            if found is not None:
                struct = T.StructType(_merge(struct, found).fields)  # type: ignore[attr-defined]
                continue
        for _, record in zip(range(SAMPLE_RECORDS), decode.records(path, options), strict=False):
            if record.values is not None:
                found = T.StructType([T.StructField(k, infer_value(v, typed, text), True)
                                      for k, v in record.values.items()])
                struct = T.StructType(_merge(struct, found).fields)  # type: ignore[attr-defined]
    struct = cast(T.StructType, without_null_types(struct))
    if not struct.fields:
        raise ValueError(f"Cannot infer a schema: no readable {options.format} files under {options.path}. "
                         "Provide .schema(...) or land files first.")
    return struct


def _declared_struct(declared: Any) -> T.StructType | None:
    if isinstance(declared, (dict, list, str)):
        spark_type = to_spark(declared)
        return spark_type if isinstance(spark_type, T.StructType) else None
    try:
        from pyspark.sql.pandas.types import from_arrow_schema
        return from_arrow_schema(declared)
    except Exception:
        return None


def as_nullable(dtype: T.DataType) -> Any:
    if isinstance(dtype, T.StructType):
        return T.StructType([T.StructField(f.name, as_nullable(f.dataType), True) for f in dtype.fields])
    if isinstance(dtype, T.ArrayType):
        return T.ArrayType(as_nullable(dtype.elementType), True)
    if isinstance(dtype, T.MapType):
        return T.MapType(dtype.keyType, as_nullable(dtype.valueType), True)
    return dtype


def apply_hints(struct: T.StructType, hints: str | None) -> T.StructType:
    """``cloudFiles.schemaHints``: top-level ``name type`` pairs override or add columns."""
    if not hints:
        return struct
    hinted = parse_struct(hints)
    fields = {f.name: f for f in struct.fields}
    for field in hinted.fields:
        fields[field.name] = T.StructField(field.name, field.dataType, True)
    return T.StructType(list(fields.values()))


def with_extras(struct: T.StructType, rescue: str | None, metadata: bool) -> T.StructType:
    fields = [f for f in struct.fields if f.name not in (rescue, METADATA)]
    if rescue:
        fields.append(T.StructField(rescue, T.StringType(), True))
    if metadata:
        fields.append(T.StructField(METADATA, METADATA_TYPE, False))
    return T.StructType(fields)


def _versions(location: Path) -> list[Path]:
    return sorted((location / "_schemas").glob("*.json"), key=lambda p: int(p.stem))


def load_persisted(location: Path | None) -> T.StructType | None:
    if location is None or not _versions(location):
        return None
    data = json.loads(_versions(location)[-1].read_text())
    parsed = T.StructType.fromJson(data)
    return parsed


def persist(location: Path | None, struct: T.StructType) -> None:
    if location is None:
        return
    versions = _versions(location)
    if versions and T.StructType.fromJson(json.loads(versions[-1].read_text())) == struct:
        return
    (location / "_schemas").mkdir(parents=True, exist_ok=True)
    number = int(versions[-1].stem) + 1 if versions else 0
    (location / "_schemas" / f"{number}.json").write_text(json.dumps(struct.jsonValue()))


# Spark's binaryFile source: one row per file, the bytes unparsed.
BINARY_FILE = T.StructType([T.StructField("path", T.StringType(), False),
                            T.StructField("modificationTime", T.TimestampType(), False),
                            T.StructField("length", T.LongType(), False),
                            T.StructField("content", T.BinaryType(), True)])


def resolve(options: CloudFilesOptions) -> tuple[T.StructType, bool]:
    """The data columns of the stream and whether they were given by the user."""
    if options.format == "binaryfile":
        return BINARY_FILE, True
    if options.format == "text" and not options.user_schema:
        return T.StructType([T.StructField("value", T.StringType(), True)]), True
    if options.user_schema:
        text = options.user_schema.strip()
        given = T.StructType.fromJson(json.loads(text)) if text.startswith("{") else parse_struct(text)
        return apply_hints(given, options.schema_hints), True
    if options.avro_schema:
        reader = to_spark(json.loads(options.avro_schema))
        if not isinstance(reader, T.StructType):
            raise ValueError("avroSchema must be an Avro record schema.")
        # File sources read every column as nullable (a rescued row has no values), as Spark does.
        return apply_hints(as_nullable(reader), options.schema_hints), True
    persisted = load_persisted(options.schema_location)
    if persisted is not None:
        return persisted, False
    inferred = apply_hints(infer(options), options.schema_hints)
    persist(options.schema_location, inferred)
    return inferred, False
