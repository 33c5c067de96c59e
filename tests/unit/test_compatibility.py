"""avro/compatibility.py decides as Apache Avro's own checker (the ``avro`` package, a test-only
dependency) does: explicit cases for each rule, checked against both, and a differential property
over generated pairs of related schemas. Rule levels (BACKWARD, FORWARD, FULL, *_TRANSITIVE) on
version chains whose verdicts are worked out by hand."""

from __future__ import annotations

import json
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from hypothesis import HealthCheck, given, settings
from schema_pairs import related_pairs

from palindrom.avro import compatibility


def avro_says(reader: Any, writer: Any) -> bool:
    """The reference: Apache Avro's ReaderWriterCompatibilityChecker."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(avro.schema.parse(json.dumps(reader)),
                                                                  avro.schema.parse(json.dumps(writer)))
    return result.compatibility is SchemaCompatibilityType.compatible


def we_say(reader: Any, writer: Any) -> bool:
    return not compatibility.problems(reader, writer)


def record(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, **extra, "fields": list(fields)}


def fld(name: str, kind: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


def enum(name: str, symbols: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": symbols, **extra}


def fixed(name: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size, **extra}


LIST = record("Node", fld("value", "int"), fld("next", ["null", "Node"], default=None), namespace="org.x")

# (case, reader, writer, whether the reader can read what the writer wrote): from the Avro
# specification's resolution rules; the Python checker's reading where the specification is loose.
CASES: list[tuple[str, Any, Any, bool]] = [
    # primitives and promotions
    ("same primitive", "string", "string", True),
    ("int read as long", "long", "int", True),
    ("int read as float", "float", "int", True),
    ("int read as double", "double", "int", True),
    ("long read as float", "float", "long", True),
    ("long read as double", "double", "long", True),
    ("float read as double", "double", "float", True),
    ("string read as bytes", "bytes", "string", True),
    ("bytes read as string", "string", "bytes", True),
    ("long read as int: no demotion", "int", "long", False),
    ("double read as float: no demotion", "float", "double", False),
    ("int read as string: no conversion", "string", "int", False),
    ("boolean read as int", "int", "boolean", False),
    ("logical types are their underlying type", {"type": "long", "logicalType": "timestamp-millis"}, "long", True),
    ("date read as long (int promotion)", "long", {"type": "int", "logicalType": "date"}, True),
    # records: fields, defaults, aliases
    ("field added with a default", record("R", fld("a", "int"), fld("b", "string", default="")),
     record("R", fld("a", "int")), True),
    ("field added with a null default", record("R", fld("a", "int"), fld("b", ["null", "int"], default=None)),
     record("R", fld("a", "int")), True),
    ("field added without a default", record("R", fld("a", "int"), fld("b", "string")),
     record("R", fld("a", "int")), False),
    ("enum field added without a field default (the enum's default does not count)",
     record("R", fld("a", "int"), fld("e", enum("E", ["A"], default="A"))), record("R", fld("a", "int")), False),
    ("field removed", record("R", fld("a", "int")), record("R", fld("a", "int"), fld("b", "string")), True),
    ("field renamed, reader alias names the old field", record("R", fld("b", "int", aliases=["a"])),
     record("R", fld("a", "int")), True),
    ("field renamed without an alias", record("R", fld("b", "int")), record("R", fld("a", "int")), False),
    ("writer field aliases do not count", record("R", fld("b", "int")), record("R", fld("a", "int", aliases=["b"])),
     False),
    ("field type promoted", record("R", fld("a", "long")), record("R", fld("a", "int")), True),
    ("field order does not matter", record("R", fld("b", "int"), fld("a", "int")),
     record("R", fld("a", "int"), fld("b", "int")), True),
    # named types: names, namespaces, aliases
    ("record renamed without an alias", record("New", fld("a", "int")), record("Old", fld("a", "int")), False),
    ("record renamed, alias with the full name", record("New", fld("a", "int"), namespace="n", aliases=["n.Old"]),
     record("Old", fld("a", "int"), namespace="n"), True),
    ("record renamed, short alias (not resolved against the namespace)",
     record("New", fld("a", "int"), namespace="n", aliases=["Old"]), record("Old", fld("a", "int"), namespace="n"),
     False),
    ("record renamed, alias without namespaces", record("New", fld("a", "int"), aliases=["Old"]),
     record("Old", fld("a", "int")), True),
    ("only the namespace changed (short names compared)", record("R", fld("a", "int"), namespace="one"),
     record("R", fld("a", "int"), namespace="two"), True),
    ("enum renamed without an alias", enum("F", ["A"]), enum("E", ["A"]), False),
    ("enum renamed with an alias", enum("F", ["A"], aliases=["E"]), enum("E", ["A"]), True),
    ("fixed renamed without an alias", fixed("G", 4), fixed("F", 4), False),
    ("fixed renamed with an alias", fixed("G", 4, aliases=["F"]), fixed("F", 4), True),
    ("nested record renamed, alias with the inherited namespace",
     record("R", fld("d", record("D2", fld("x", "int"), aliases=["n.D"])), namespace="n"),
     record("R", fld("d", record("D", fld("x", "int"))), namespace="n"), True),
    # enums and fixed
    ("enum symbol added", enum("E", ["A", "B", "C"]), enum("E", ["A", "B"]), True),
    ("enum symbol removed, no default", enum("E", ["A"]), enum("E", ["A", "B"]), False),
    ("enum symbol removed, reader default", enum("E", ["A", "U"], default="U"), enum("E", ["A", "B"]), True),
    ("enum symbol removed, only the writer has a default", enum("E", ["A"]), enum("E", ["A", "B"], default="A"),
     False),
    ("fixed same size", fixed("F", 16), fixed("F", 16), True),
    ("fixed size changed", fixed("F", 8), fixed("F", 16), False),
    # unions
    ("value read as a nullable union", ["null", "int"], "int", True),
    ("value read through a promoting branch", ["null", "long"], "int", True),
    ("nullable union read as the bare type", "int", ["null", "int"], False),
    ("writer union all branches readable by a bare reader", "double", ["int", "float"], True),
    ("writer branch missing in the reader union", ["null", "string"], ["null", "int"], False),
    ("union branches reordered", ["string", "null"], ["null", "string"], True),
    ("union branch added", ["null", "int", "string"], ["null", "int"], True),
    ("union branch removed", ["null", "int"], ["null", "int", "string"], False),
    ("named type in a union matched by name", ["null", enum("E", ["A", "B"])], ["null", enum("E", ["A"])], True),
    ("named type in a union renamed", ["null", enum("F", ["A"])], ["null", enum("E", ["A"])], False),
    # containers
    ("array items promoted", {"type": "array", "items": "long"}, {"type": "array", "items": "int"}, True),
    ("map values demoted", {"type": "map", "values": "int"}, {"type": "map", "values": "long"}, False),
    ("array read as map", {"type": "map", "values": "int"}, {"type": "array", "items": "int"}, False),
    # named types used again by name, recursion
    ("a named type used twice is checked as one type",
     record("R", fld("a", enum("E", ["A", "B"], namespace="n")), fld("b", "n.E")),
     record("R", fld("a", enum("E", ["A"], namespace="n")), fld("b", "n.E")), True),
    ("a reference resolves against the enclosing namespace",
     record("R", fld("a", fixed("F", 4)), fld("b", "F"), namespace="n"),
     record("R", fld("a", fixed("F", 4)), fld("b", "n.F"), namespace="n"), True),
    ("recursive record, same shape", LIST, LIST, True),
    ("recursive record, field added with a default",
     record("Node", fld("value", "int"), fld("next", ["null", "Node"], default=None), fld("w", "int", default=0),
            namespace="org.x"), LIST, True),
    ("recursive record, field type demoted",
     record("Node", fld("value", "int"), fld("next", ["null", "Node"], default=None), namespace="org.x"),
     record("Node", fld("value", "long"), fld("next", ["null", "Node"], default=None), namespace="org.x"), False),
    ("recursive record, field added without a default deep in the recursion",
     record("Node", fld("value", "int"), fld("next", ["null", "Node"], default=None), fld("w", "int"),
            namespace="org.x"), LIST, False),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_as_avro_decides_it(reader, writer, expected):
    assert avro_says(reader, writer) is expected      # the case itself is right
    assert we_say(reader, writer) is expected


def test_problems_name_the_place_and_the_reason():
    reader = record("R", fld("a", "int"), fld("b", "string"), fld("e", enum("E2", ["A"])), namespace="n")
    writer = record("R", fld("a", "long"), fld("e", enum("E", ["A", "B"])), namespace="n")
    assert compatibility.problems(reader, writer) == [
        "/a: type changed from long to int, which is not a promotion Avro allows",
        "/b: field added without a default",
        "/e: enum n.E was renamed to n.E2 without an alias naming n.E",
        "/e: enum symbols ['B'] removed without a default symbol",
    ]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(related_pairs())
def test_agrees_with_apache_avro_on_related_schema_pairs(pair):
    first, second = pair
    for reader, writer in ((first, second), (second, first)):
        assert we_say(reader, writer) is avro_says(reader, writer), (json.dumps(reader), json.dumps(writer))


V1 = record("R", fld("a", "int"))
V2 = record("R", fld("a", "int"), fld("b", "string", default=""))        # adds b with a default
V3 = record("R", fld("a", "long"), fld("b", "string", default=""))       # widens a
V4 = record("R", fld("a", "long"), fld("b", "string"), fld("c", "int", default=0))   # b loses its default
V5 = record("R", fld("a", "long"), fld("c", "int", default=0))                        # drops b


@pytest.mark.parametrize(("rule", "new", "previous", "broken"), [
    ("NONE", V4, [V1], False),
    ("BACKWARD", V2, [V1], False),                 # new reads old: b has a default
    ("BACKWARD", V1, [V2], False),                 # dropping a field is backward compatible
    ("FORWARD", V1, [V2], False),                  # old V2 reads V1 data: b has a default
    ("FORWARD", V5, [V4], True),                   # old V4 cannot read V5 data: b has no value, no default
    ("BACKWARD", V5, [V4], False),
    ("FORWARD", V2, [V1], False),
    ("FULL", V2, [V1], False),
    ("FULL", V3, [V2], True),                      # old V2 (int) cannot read new long data
    ("BACKWARD", V4, [V3], False),                 # V4 reads V3 data: every field is there
    ("BACKWARD", V4, [V1, V2, V3], False),         # only the previous version counts
    ("BACKWARD_TRANSITIVE", V4, [V1, V2, V3], True),   # V4 cannot read V1 data: b is missing
    ("FORWARD_TRANSITIVE", V3, [V1, V2], True),    # V1 cannot read V3's long
    ("FULL_TRANSITIVE", V2, [V1], False),
])
def test_rule_levels(rule, new, previous, broken):
    assert bool(compatibility.violations(rule, new, previous)) is broken
    # The same verdicts from the reference checker, version by version.
    against = previous if rule.endswith("TRANSITIVE") else previous[-1:]
    backward = rule.startswith(("BACKWARD", "FULL")) and not all(avro_says(new, old) for old in against)
    forward = rule.startswith(("FORWARD", "FULL")) and not all(avro_says(old, new) for old in against)
    assert (backward or forward) is broken


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown COMPATIBILITY rule 'SIDEWAYS'"):
        compatibility.violations("sideways", V1, [V1])
