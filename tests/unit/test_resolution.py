"""avro/resolution.py gives what fastavro gives when it resolves: records encoded with a writer
schema, read by fastavro onto the reader schema (the reference) and read with the writer alone then
projected, must be equal; pairs it does not compile must be left to fastavro (``None``). Checked on
generated pairs of related schemas, on the repository's own schema versions, and case by case."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.utils import generate_many
from hypothesis import HealthCheck, assume, given, settings
from schema_pairs import related_pairs

from palindrom.avro import resolution

REPO = Path(__file__).resolve().parents[2]


def encode(schema: Any, records: list[Any]) -> list[bytes]:
    parsed = fastavro.parse_schema(copy.deepcopy(schema))
    out = []
    for record in records:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, record)
        out.append(buffer.getvalue())
    return out


def writable(schema: Any, records: list[Any]) -> list[bytes]:
    """The generated records fastavro can write (its generator gives a union branch values that its
    writer then matches against another branch, e.g. a string against ``[date, string]``)."""
    out = []
    for record in records:
        try:
            out.extend(encode(schema, [record]))
        except (ValueError, TypeError, OverflowError):
            continue
    return out


def fastavro_reads(writer: Any, reader: Any, body: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(copy.deepcopy(writer)),
                                      fastavro.parse_schema(copy.deepcopy(reader)))


def projected(writer: Any, reader: Any, body: bytes) -> Any:
    project = resolution.projection(writer, reader)
    assert project is not None
    return project(fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(copy.deepcopy(writer)), None))


def parses(schema: Any) -> bool:
    try:
        fastavro.parse_schema(copy.deepcopy(schema))
    except Exception:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(related_pairs())
def test_projection_agrees_with_fastavro_resolution_on_related_schema_pairs(pair):
    first, second = pair
    assume(parses(first) and parses(second))
    for writer, reader in ((first, second), (second, first)):
        project = resolution.projection(writer, reader)
        if project is None:
            continue
        try:
            records = list(generate_many(fastavro.parse_schema(copy.deepcopy(writer)), 3))
        except RecursionError:   # a record that holds itself without a null branch has no values
            continue
        for body in writable(writer, records):
            expected = fastavro_reads(writer, reader, body)   # a compiled pair never fails in fastavro
            decoded = fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(copy.deepcopy(writer)), None)
            assert project(decoded) == expected, (json.dumps(writer), json.dumps(reader))


def versions(artifact: str) -> list[Any]:
    folder = REPO / "schemas" / "palindrom.events" / artifact
    return [json.loads(p.read_text()) for p in sorted(folder.glob("v*.avsc"))]


@pytest.mark.parametrize("artifact", ["app_event", "media_upload"])
def test_every_registered_version_reads_onto_the_latest_without_fastavro_resolution(artifact):
    """The fast path covers this repository's own evolution: each version onto the latest."""
    schemas = versions(artifact)
    reader = schemas[-1]
    for writer in schemas:
        assert resolution.projection(writer, reader) is not None, writer.get("name")
        records = list(generate_many(fastavro.parse_schema(copy.deepcopy(writer)), 50))
        for body in encode(writer, records):
            assert projected(writer, reader, body) == fastavro_reads(writer, reader, body)


def rec(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def fld(name: str, kind: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


COLOUR = {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN"]}
COMPILED = [
    ("same schema", rec(fld("a", "int")), rec(fld("a", "int")), {"a": 5}, {"a": 5}),
    ("writer field dropped, reader default added",
     rec(fld("a", "int"), fld("gone", "string")),
     rec(fld("a", "int"), fld("b", "string", default="x"), fld("m", {"type": "map", "values": "long"}, default={})),
     {"a": 1, "gone": "g"}, {"a": 1, "b": "x", "m": {}}),
    ("renamed through an alias", rec(fld("old", "string")), rec(fld("new", "string", aliases=["old"])),
     {"old": "v"}, {"new": "v"}),
    ("int read as long, also inside [null, T]", rec(fld("a", "int"), fld("b", ["null", "int"])),
     rec(fld("a", "long"), fld("b", ["null", "long"])), {"a": 2, "b": None}, {"a": 2, "b": None}),
    ("T read as [null, T]", rec(fld("a", "string")), rec(fld("a", ["null", "string"])), {"a": "s"}, {"a": "s"}),
    ("enum gains a symbol", rec(fld("c", COLOUR)),
     rec(fld("c", {**COLOUR, "symbols": ["RED", "GREEN", "BLUE"]})), {"c": "GREEN"}, {"c": "GREEN"}),
    ("nested record in an array gains a field",
     rec(fld("xs", {"type": "array", "items": rec(fld("v", "int"), name="X")})),
     rec(fld("xs", {"type": "array", "items": rec(fld("v", "int"), fld("w", ["null", "int"], default=None),
                                                  name="X")})),
     {"xs": [{"v": 1}, {"v": 2}]}, {"xs": [{"v": 1, "w": None}, {"v": 2, "w": None}]}),
]


@pytest.mark.parametrize(("case", "writer", "reader", "record", "expected"), COMPILED, ids=[c[0] for c in COMPILED])
def test_compiled_resolutions(case, writer, reader, record, expected):
    (body,) = encode(writer, [record])
    assert fastavro_reads(writer, reader, body) == expected    # the reference agrees with the hand-worked value
    assert projected(writer, reader, body) == expected


def test_a_default_is_a_fresh_value_per_record():
    project = resolution.projection(rec(fld("a", "int")), rec(fld("a", "int"), fld("m", {"type": "map", "values": "int"},
                                                                                   default={})))
    assert project is not None
    first = project({"a": 1})
    first["m"]["k"] = 1
    assert project({"a": 2}) == {"a": 2, "m": {}}


LEFT_TO_FASTAVRO = [
    ("int read as double changes the value", rec(fld("a", "int")), rec(fld("a", "double"))),
    ("string read as bytes", rec(fld("a", "string")), rec(fld("a", "bytes"))),
    ("enum loses a symbol", rec(fld("c", COLOUR)), rec(fld("c", {**COLOUR, "symbols": ["RED"], "default": "RED"}))),
    ("reader field without default", rec(fld("a", "int")), rec(fld("a", "int"), fld("b", "int"))),
    ("default of a logical type", rec(fld("a", "int")),
     rec(fld("a", "int"), fld("t", {"type": "long", "logicalType": "timestamp-millis"}, default=0))),
    ("union read as one type", rec(fld("a", ["null", "int"])), rec(fld("a", "int"))),
    ("a union branch fastavro reads into an earlier, promoted branch (string into bytes)",
     rec(fld("a", "int"), fld("u", ["bytes", "string"])), rec(fld("a", "long"), fld("u", ["bytes", "string"]))),
    ("records of other names", rec(fld("a", "int"), name="R"), rec(fld("a", "int"), name="S")),
    ("recursive record", rec(fld("v", "int"), fld("next", ["null", "R"])),
     rec(fld("v", "long"), fld("next", ["null", "R"]))),
]


@pytest.mark.parametrize(("case", "writer", "reader"), LEFT_TO_FASTAVRO, ids=[c[0] for c in LEFT_TO_FASTAVRO])
def test_other_resolutions_are_left_to_fastavro(case, writer, reader):
    assert resolution.projection(writer, reader) is None
