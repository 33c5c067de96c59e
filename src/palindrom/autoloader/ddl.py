"""A small Spark DDL type parser for Python workers, where no Spark session exists to parse DDL."""

from __future__ import annotations

import re

from pyspark.sql import types as T

_SIMPLE: dict[str, T.DataType] = {
    "string": T.StringType(), "varchar": T.StringType(), "char": T.StringType(),
    "int": T.IntegerType(), "integer": T.IntegerType(), "bigint": T.LongType(), "long": T.LongType(),
    "smallint": T.ShortType(), "short": T.ShortType(), "tinyint": T.ByteType(), "byte": T.ByteType(),
    "double": T.DoubleType(), "float": T.FloatType(), "real": T.FloatType(), "boolean": T.BooleanType(),
    "date": T.DateType(), "timestamp": T.TimestampType(), "timestamp_ltz": T.TimestampType(),
    "timestamp_ntz": T.TimestampNTZType(), "binary": T.BinaryType(),
}
_TOKEN = re.compile(r"\s*(`[^`]*`|[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")


class DdlError(ValueError):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [m.group(1) for m in _TOKEN.finditer(text)]
        if "".join(self.tokens) != re.sub(r"\s+", "", text):
            raise DdlError(f"Cannot parse type definition '{text}'.")
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.lower() != expected):
            raise DdlError(f"In '{self.text}': expected {expected or 'more'}, found {token or 'end'}.")
        self.pos += 1
        return token

    def data_type(self) -> T.DataType:
        name = self.take().lower()
        if name in ("decimal", "dec", "numeric"):
            if self.peek() == "(":
                self.take("(")
                precision = int(self.take())
                scale = 0
                if self.peek() == ",":
                    self.take(",")
                    scale = int(self.take())
                self.take(")")
                return T.DecimalType(precision, scale)
            return T.DecimalType(10, 0)
        if name in ("varchar", "char") and self.peek() == "(":
            self.take("(")
            self.take()
            self.take(")")
        if name == "array":
            self.take("<")
            element = self.data_type()
            self.take(">")
            return T.ArrayType(element, True)
        if name == "map":
            self.take("<")
            key = self.data_type()
            self.take(",")
            value = self.data_type()
            self.take(">")
            return T.MapType(key, value, True)
        if name == "struct":
            self.take("<")
            fields = self.fields(closing=">")
            self.take(">")
            return T.StructType(fields)
        if name not in _SIMPLE:
            raise DdlError(f"In '{self.text}': unknown type '{name}'.")
        return _SIMPLE[name]

    def fields(self, closing: str | None) -> list[T.StructField]:
        result: list[T.StructField] = []
        while self.peek() is not None and self.peek() != closing:
            name = self.take().strip("`")
            if self.peek() == ":":
                self.take(":")
            result.append(T.StructField(name, self.data_type(), True))
            if self.peek() == ",":
                self.take(",")
        return result


def parse_struct(text: str) -> T.StructType:
    """``"a int, b struct<c: string>"`` or ``"struct<...>"`` -> StructType."""
    parser = _Parser(text)
    if parser.peek() and parser.peek().lower() == "struct" and text.strip().lower().startswith("struct<"):  # type: ignore[union-attr]
        parsed = parser.data_type()
        if not isinstance(parsed, T.StructType):
            raise DdlError(f"'{text}' is not a struct type.")
        result = parsed
    else:
        result = T.StructType(parser.fields(closing=None))
    if parser.peek() is not None:
        raise DdlError(f"In '{text}': unexpected '{parser.peek()}'.")
    return result
