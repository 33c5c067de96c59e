"""Avro schema compatibility as Apache Avro's checker decides it, and Apicurio's rule levels.

``problems(reader, writer)`` lists why data written with ``writer`` cannot be read with ``reader``
(empty when it can). ``violations(rule, new, previous)`` applies a COMPATIBILITY rule level.

The verdict is the one of the Apache ``avro`` package's ``avro.compatibility.
ReaderWriterCompatibilityChecker`` (1.12), which ``tests/unit/test_compatibility.py`` compares with
this module on generated schema pairs (the package is a test dependency only):

* schemas are parsed by Avro's naming rules: a name with a dot is a full name, otherwise it takes
  the namespace of the nearest enclosing named type; references resolve the same way, so a type
  used again by name is the same type (recursion included);
* record, enum and fixed: the reader's *short* name must equal the writer's, or the reader's
  ``aliases`` (as written) must contain the writer's full name. The namespace alone may change;
  a short alias is not resolved against the namespace (Avro Java would resolve it, the Python
  checker does not; Apicurio's own checker is Java);
* records: each reader field is found in the writer by its name, else by one of its aliases
  (writer aliases play no part); a reader field the writer lacks needs a ``default``, any value
  (``null`` included). Writer fields the reader lacks are skipped;
* enums: writer symbols the reader lacks need a reader ``default`` symbol; fixed: equal sizes;
* unions: every branch a writer may write must be readable; a reader union reads a writer type
  when one of its branches does; a non-union reader reads a writer union only if it reads every
  branch;
* promotions int->long|float|double, long->float|double, float->double, string<->bytes;
  logical types are their underlying types;
* a pair of types already being compared further up (recursive types) counts as compatible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
NAMED = ("record", "error", "enum", "fixed")
PROMOTIONS = {("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"),
              ("float", "double"), ("string", "bytes"), ("bytes", "string")}   # (writer, reader)
RULES = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")


@dataclass(eq=False)
class Field:
    name: str
    type: Node
    has_default: bool
    aliases: tuple[str, ...]


@dataclass(eq=False)
class Node:
    """One parsed schema node. Named types are one node however often they are referenced."""

    type: str                                   # a primitive, record, enum, fixed, array, map, union,
    fullname: str | None = None                 # or the full name of a type the schema does not define
    aliases: tuple[str, ...] = ()
    fields: list[Field] = field(default_factory=list)
    symbols: tuple[str, ...] = ()
    default: Any = None                         # an enum's default symbol
    size: Any = None
    children: list[Node] = field(default_factory=list)   # items, values, or the union's branches

    @property
    def name(self) -> str:
        return (self.fullname or self.type).rsplit(".", 1)[-1]


def _fullname(name: str, namespace: str | None) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


class _Parser:
    def __init__(self) -> None:
        self.names: dict[str, Node] = {}

    def parse(self, schema: Any, namespace: str | None) -> Node:
        if isinstance(schema, list):
            return Node("union", children=[self.parse(branch, namespace) for branch in schema])
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return Node(schema)
            # A reference; one the schema does not define stays an opaque named type.
            return self.names.get(_fullname(schema, namespace)) or Node(schema, fullname=_fullname(schema, namespace))
        if not isinstance(schema, dict) or "type" not in schema:
            raise ValueError(f"not an Avro schema: {str(schema)[:80]}")
        kind = schema["type"]
        if isinstance(kind, (dict, list)):
            return self.parse(kind, namespace)
        if kind in PRIMITIVES:
            return Node(kind)                    # logical types are their underlying type
        if kind in ("array", "map"):
            inner = schema["items" if kind == "array" else "values"]
            return Node(kind, children=[self.parse(inner, namespace)])
        if kind not in NAMED:
            return self.parse(kind, namespace)   # {"type": "SomeName"}
        # Avro's Name: a dotted name is full; else the given namespace, else the enclosing one.
        # An empty namespace counts as none given, as the Python implementation parses it.
        name = str(schema["name"])
        fullname = _fullname(name, schema.get("namespace") or namespace)
        aliases = schema.get("aliases")
        node = Node("record" if kind == "error" else kind, fullname,
                    tuple(aliases) if isinstance(aliases, list) else ())
        self.names[fullname] = node              # before the fields: they may refer to it
        if kind == "enum":
            node.symbols, node.default = tuple(schema.get("symbols", ())), schema.get("default")
        elif kind == "fixed":
            node.size = schema.get("size")
        else:
            inner_namespace = fullname.rsplit(".", 1)[0] if "." in fullname else None
            for f in schema.get("fields", []):
                f_aliases = f.get("aliases")
                node.fields.append(Field(str(f["name"]), self.parse(f["type"], inner_namespace), "default" in f,
                                         tuple(f_aliases) if isinstance(f_aliases, list) else ()))
        return node


def parse(schema: Any) -> Node:
    return _Parser().parse(schema, None)


def problems(reader: Any, writer: Any) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader``; empty when it can."""
    found = _Checker().check(parse(reader), parse(writer), "")
    return list(dict.fromkeys(found))


class _Checker:
    def __init__(self) -> None:
        # (reader, writer) node pairs: None while being compared, then their problems.
        self.memo: dict[tuple[int, int], list[str] | None] = {}

    def check(self, reader: Node, writer: Node, at: str) -> list[str]:
        key = (id(reader), id(writer))
        if key in self.memo:
            return self.memo[key] or []          # in progress further up: assumed compatible
        self.memo[key] = None
        found = list(self._compare(reader, writer, at))
        self.memo[key] = found
        return found

    def _compare(self, reader: Node, writer: Node, at: str) -> Iterator[str]:
        where = at or "/"
        if reader.type == writer.type:
            if reader.type == "union":
                for branch in writer.children:
                    yield from self.check(reader, branch, at)
            elif reader.type in ("array", "map"):
                yield from self.check(reader.children[0], writer.children[0], at + ("[]" if reader.type == "array"
                                                                                    else "{}"))
            elif reader.type in ("record", "enum", "fixed"):
                if reader.name != writer.name and writer.fullname not in reader.aliases:
                    yield (f"{where}: {reader.type} {writer.fullname} was renamed to {reader.fullname} without "
                           f"an alias naming {writer.fullname}")
                yield from getattr(self, f"_{reader.type}")(reader, writer, at)
            elif reader.fullname != writer.fullname:      # types the schemas do not define
                yield f"{where}: type changed from {writer.fullname} to {reader.fullname}"
            return
        if writer.type == "union":
            for branch in writer.children:
                yield from self.check(reader, branch, at)
            return
        if reader.type == "union":
            if not any(not self.check(branch, writer, at) for branch in reader.children):
                yield (f"{where}: {_show(writer)} written data matches no branch of the reader's union "
                       f"{[_show(b) for b in reader.children]}")
            return
        if (writer.type, reader.type) not in PROMOTIONS:
            yield f"{where}: type changed from {_show(writer)} to {_show(reader)}, which is not a promotion Avro allows"

    def _record(self, reader: Node, writer: Node, at: str) -> Iterator[str]:
        written = {f.name: f for f in writer.fields}
        for f in reader.fields:
            source = written.get(f.name) or next((written[a] for a in f.aliases if a in written), None)
            if source is None:
                if not f.has_default:
                    yield f"{at}/{f.name}: field added without a default"
                continue
            yield from self.check(f.type, source.type, f"{at}/{f.name}")

    @staticmethod
    def _enum(reader: Node, writer: Node, at: str) -> Iterator[str]:
        missing = sorted(set(writer.symbols) - set(reader.symbols))
        if missing and not (reader.default and reader.default in reader.symbols):
            yield f"{at or '/'}: enum symbols {missing} removed without a default symbol"

    @staticmethod
    def _fixed(reader: Node, writer: Node, at: str) -> Iterator[str]:
        if reader.size != writer.size:
            yield f"{at or '/'}: fixed size changed from {writer.size} to {reader.size}"


def _show(node: Node) -> str:
    return node.fullname or node.type


def violations(rule: str, new: Any, previous: list[Any]) -> list[str]:
    """Why ``new`` breaks ``rule`` given the earlier versions (oldest first); empty when it does not."""
    rule = rule.upper()
    if rule not in RULES:
        raise ValueError(f"unknown COMPATIBILITY rule '{rule}'; one of {', '.join(RULES)}")
    if rule == "NONE" or not previous:
        return []
    against = previous if rule.endswith("_TRANSITIVE") else previous[-1:]
    found: list[str] = []
    for old in against:
        if rule.startswith(("BACKWARD", "FULL")):
            found += [f"new schema cannot read old data: {p}" for p in problems(new, old)]
        if rule.startswith(("FORWARD", "FULL")):
            found += [f"old schema cannot read new data: {p}" for p in problems(old, new)]
    return found
