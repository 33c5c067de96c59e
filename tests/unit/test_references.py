"""Client-side dereferencing, for content the registry serves raw (by contentId)."""

from __future__ import annotations

import io
import json

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from palindrom.avro.references import inline

POINT = {"type": "record", "name": "Point", "namespace": "geo", "fields": [
    {"name": "lat", "type": "double"}, {"name": "lon", "type": "double"}]}
UNIT = {"type": "enum", "name": "Unit", "symbols": ["M", "KM"]}      # no namespace of its own


def test_each_reference_is_defined_at_its_first_use_in_any_position():
    route = {"type": "record", "name": "Route", "namespace": "geo", "fields": [
        {"name": "stops", "type": {"type": "array", "items": "Point"}},       # short name, same namespace
        {"name": "named", "type": {"type": "map", "values": "geo.Point"}},    # later uses keep the name
        {"name": "start", "type": ["null", "geo.Point"], "default": None},
        {"name": "unit", "type": "geo.Unit"}]}
    result = json.loads(inline(json.dumps(route), {"geo.Point": json.dumps(POINT), "geo.Unit": json.dumps(UNIT)}))
    assert result["fields"][0]["type"]["items"] == POINT
    assert result["fields"][1]["type"]["values"] == "geo.Point"
    assert result["fields"][2]["type"] == ["null", "geo.Point"]
    assert result["fields"][3]["type"] == {**UNIT, "namespace": "geo"}   # keeps the full name it was referenced by
    parsed = parse_schema(result)
    record = {"stops": [{"lat": 1.5, "lon": 2.5}], "named": {"home": {"lat": 0.0, "lon": 0.0}},
              "start": None, "unit": "KM"}
    body = io.BytesIO()
    schemaless_writer(body, parsed, record)
    body.seek(0)
    assert schemaless_reader(body, parsed) == record


def test_without_references_the_content_is_unchanged():
    text = '{"type":  "string"}'
    assert inline(text, {}) == text
