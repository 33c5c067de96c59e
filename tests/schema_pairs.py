"""Hypothesis strategies: pairs of *related* Avro schemas, a schema and a mutation of it, so that most
pairs sit near the edge of compatibility (renames with and without aliases, namespaces, added and
removed fields and defaults, promotions, union branches, enum symbols and defaults, fixed sizes,
named types used again by name, recursive records).

Schemas are built as small mutable specs (named types are shared objects, so a type used twice or
recursively stays one type through a mutation) and rendered to JSON: a named type is defined at
its first use in Avro's order and referred to by name afterwards. Every rendered schema is valid
for the Apache ``avro`` parser (unique names, unions without duplicate types, enum defaults among
the symbols).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

_fresh = itertools.count()

PRIMITIVES = ["int", "string", "long", "bytes", "float", "double", "boolean", "null"]   # favoured first
LOGICAL = [{"type": "int", "logicalType": "date"}, {"type": "long", "logicalType": "timestamp-millis"},
           {"type": "string", "logicalType": "uuid"},
           {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}]
# Neighbours of a primitive: the promotions, their reverse, and near misses.
NEIGHBOURS = {"int": ["long", "float", "double", "string"], "long": ["int", "float", "double"],
              "float": ["double", "int", "long"], "double": ["float", "long"], "string": ["bytes", "int"],
              "bytes": ["string", "long"], "boolean": ["int", "null"], "null": ["boolean", "string"]}
NAMESPACES = ["org.example", "org.example.sub", "com.other"]


@dataclass(eq=False)
class Prim:
    name: str                                  # a primitive type
    logical: dict[str, Any] | None = None      # rendered instead when set


@dataclass(eq=False)
class Container:
    kind: str                                  # array | map
    inner: Any


@dataclass(eq=False)
class Union:
    branches: list[Any]


@dataclass(eq=False)
class Fld:
    name: str
    type: Any
    has_default: bool = False
    aliases: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Named:
    kind: str                                  # record | enum | fixed
    name: str
    namespace: str | None = None
    aliases: list[str] = field(default_factory=list)
    fields: list[Fld] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    default: str | None = None                 # enum default symbol
    size: int = 4


@dataclass
class Spec:
    root: Named
    namespaced: bool                           # the root has a namespace: every full name has a dot
    short_refs: bool                           # refer by short name where Avro resolves it to the same type


def _name(prefix: str) -> str:
    return f"{prefix}{next(_fresh)}"


# -- rendering ------------------------------------------------------------------------------------
def render(spec: Spec) -> Any:
    defined: dict[int, str] = {}               # id(named) -> full name where it was defined

    def fullname(named: Named, enclosing: str | None) -> str:
        space = named.namespace or enclosing
        return f"{space}.{named.name}" if space else named.name

    def type_json(node: Any, enclosing: str | None) -> Any:
        if isinstance(node, Prim):
            return dict(node.logical) if node.logical else node.name
        if isinstance(node, Container):
            key = "items" if node.kind == "array" else "values"
            return {"type": node.kind, key: type_json(node.inner, enclosing)}
        if isinstance(node, Union):
            return [type_json(b, enclosing) for b in node.branches]
        full = defined.get(id(node))
        if full is not None:                   # a reference
            space, _, short = full.rpartition(".")
            return short if spec.short_refs and (space or None) == enclosing else full
        full = fullname(node, enclosing)
        defined[id(node)] = full
        out: dict[str, Any] = {"type": node.kind, "name": node.name}
        if node.namespace:
            out["namespace"] = node.namespace
        if node.aliases:
            out["aliases"] = list(node.aliases)
        if node.kind == "enum":
            out["symbols"] = list(node.symbols)
            if node.default is not None:
                out["default"] = node.default
        elif node.kind == "fixed":
            out["size"] = node.size
        else:
            inner = full.rpartition(".")[0] or None
            fields = []
            for f in node.fields:
                rendered: dict[str, Any] = {"name": f.name, "type": type_json(f.type, inner)}
                if f.aliases:
                    rendered["aliases"] = list(f.aliases)
                if f.has_default:
                    rendered["default"] = default_value(f.type)
                fields.append(rendered)
            out["fields"] = fields
        return out

    return type_json(spec.root, None)


def default_value(node: Any, depth: int = 0) -> Any:
    """A default that fits the type (the checker only asks whether there is one)."""
    if isinstance(node, Prim):
        base = node.logical["type"] if node.logical else node.name
        return {"null": None, "boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0,
                "bytes": "", "string": ""}[base]
    if isinstance(node, Container):
        return [] if node.kind == "array" else {}
    if isinstance(node, Union):
        return default_value(node.branches[0], depth)
    if node.kind == "enum":
        return node.symbols[0]
    if node.kind == "fixed":
        return "\u0000" * node.size
    if depth > 3:
        return None
    return {f.name: default_value(f.type, depth + 1) for f in node.fields}


# -- walking --------------------------------------------------------------------------------------
def named_types(spec: Spec) -> list[Named]:
    found: list[Named] = []

    def visit(node: Any) -> None:
        if isinstance(node, Container):
            visit(node.inner)
        elif isinstance(node, Union):
            for b in node.branches:
                visit(b)
        elif isinstance(node, Named) and all(n is not node for n in found):
            found.append(node)
            for f in node.fields:
                visit(f.type)

    visit(spec.root)
    return found


def slots(spec: Spec) -> list[tuple[Any, Any]]:
    """Every place a type sits: (field, "type"), (container, "inner") or (union branches, index)."""
    found: list[tuple[Any, Any]] = []
    for named in named_types(spec):
        for f in named.fields:
            found.append((f, "type"))
            stack = [f.type]
            while stack:
                node = stack.pop()
                if isinstance(node, Container):
                    found.append((node, "inner"))
                    stack.append(node.inner)
                elif isinstance(node, Union):
                    found.extend((node.branches, i) for i in range(len(node.branches)))
                    stack.extend(node.branches)
    return found


def get(slot: tuple[Any, Any]) -> Any:
    holder, key = slot
    return holder[key] if isinstance(holder, list) else getattr(holder, key)


def put(slot: tuple[Any, Any], value: Any) -> None:
    holder, key = slot
    if isinstance(holder, list):
        holder[key] = value
    else:
        setattr(holder, key, value)


def branch_key(node: Any) -> str:
    """What makes union branches distinct for Avro: the type, or the name of a named type."""
    if isinstance(node, Prim):
        return node.logical["type"] if node.logical else node.name
    if isinstance(node, Container):
        return node.kind
    if isinstance(node, Union):
        return "union"
    return f"named:{id(node)}"


def union_ok(branches: list[Any]) -> bool:
    keys = [branch_key(b) for b in branches]
    return bool(branches) and "union" not in keys and len(set(keys)) == len(keys)


# -- generating -----------------------------------------------------------------------------------
symbols = st.lists(st.sampled_from(["A", "B", "C", "D", "E", "F"]), min_size=1, max_size=4, unique=True)


@st.composite
def named_type(draw: st.DrawFn, kind: str, depth: int, known: list[Named], namespaced: bool) -> Named:
    namespace = draw(st.none() | st.sampled_from(NAMESPACES)) if namespaced else None
    named = Named(kind, _name(kind[0].upper()), namespace)
    if kind == "enum":
        named.symbols = draw(symbols)
        if draw(st.booleans()):
            named.default = draw(st.sampled_from(named.symbols))
    elif kind == "fixed":
        named.size = draw(st.integers(1, 4))
    else:
        known.append(named)
        for i in range(draw(st.integers(0 if depth else 1, 4))):
            named.fields.append(Fld(f"f{i}", draw(type_node(depth + 1, known, namespaced)), draw(st.booleans())))
        if depth and draw(st.integers(0, 4)) == 0:      # recursive: a linked list of itself
            named.fields.append(Fld("next", Union([Prim("null"), named]), True))
    if kind != "record":
        known.append(named)
    return named


@st.composite
def type_node(draw: st.DrawFn, depth: int, known: list[Named], namespaced: bool) -> Any:
    choices = ["prim", "prim", "logical", "enum", "fixed", "union"]
    if depth < 3:
        choices += ["record", "array", "map"]
    if known:
        choices += ["ref", "ref"]
    choice = draw(st.sampled_from(choices))
    if choice == "prim":
        return Prim(draw(st.sampled_from(PRIMITIVES)))
    if choice == "logical":
        logical = draw(st.sampled_from(LOGICAL))
        return Prim(logical["type"], logical)
    if choice in ("enum", "fixed", "record"):
        return draw(named_type(choice, depth, known, namespaced))
    if choice in ("array", "map"):
        return Container(choice, draw(type_node(depth + 1, known, namespaced)))
    if choice == "ref":
        return draw(st.sampled_from(known))
    branches: list[Any] = []
    for _ in range(draw(st.integers(1, 3))):
        candidate = draw(type_node(3, known, namespaced))   # no containers of records in unions: keep it small
        if not isinstance(candidate, Union) and union_ok([*branches, candidate]):
            branches.append(candidate)
    if draw(st.booleans()) and union_ok([Prim("null"), *branches]):
        branches.insert(0, Prim("null"))
    return Union(branches or [Prim("null")])


@st.composite
def schemas(draw: st.DrawFn) -> Spec:
    namespaced = draw(st.booleans())
    known: list[Named] = []
    root = draw(named_type("record", 0, known, namespaced))
    if namespaced:
        root.namespace = draw(st.sampled_from(NAMESPACES))
    return Spec(root, namespaced, draw(st.booleans()))


# -- mutating -------------------------------------------------------------------------------------
def _other_type(draw: st.DrawFn, current: Any, spec: Spec) -> Any:
    """A type near ``current``: a promotion or its reverse, a union around or out of it, or another type."""
    options = []
    if isinstance(current, Prim) and not current.logical:
        options += ["neighbour", "wrap", "neighbour", "neighbour"]
    if isinstance(current, Union):
        options += ["add_branch", "drop_branch", "unwrap", "reorder"]
    if isinstance(current, Container):
        options += ["container_kind"]
    options += ["wrap", "random", "named"]
    choice = draw(st.sampled_from(options))
    if choice == "neighbour":
        return Prim(draw(st.sampled_from(NEIGHBOURS[current.name])))
    if choice == "wrap" and not isinstance(current, Union):
        extra = draw(st.sampled_from([Prim("null"), Prim("string"), Prim("long"), Prim("int")]))
        branches = draw(st.sampled_from([[extra, current], [current, extra]]))
        return Union(branches) if union_ok(branches) else current
    if choice == "unwrap":
        return draw(st.sampled_from(current.branches))
    if choice == "add_branch":
        extra = draw(type_node(3, named_types(spec), spec.namespaced))
        branches = [*current.branches, extra]
        return Union(branches) if not isinstance(extra, Union) and union_ok(branches) else current
    if choice == "drop_branch" and len(current.branches) > 1:
        gone = draw(st.integers(0, len(current.branches) - 1))
        return Union([b for i, b in enumerate(current.branches) if i != gone])
    if choice == "reorder":
        return Union(list(reversed(current.branches)))
    if choice == "container_kind":
        return Container("map" if current.kind == "array" else "array", current.inner)
    if choice == "named":
        known = named_types(spec)
        return draw(st.sampled_from(known)) if known else current
    if draw(st.booleans()):
        return Prim(draw(st.sampled_from(PRIMITIVES)))
    return draw(type_node(2, named_types(spec), spec.namespaced))


@st.composite
def mutation(draw: st.DrawFn, spec: Spec) -> None:
    """Change ``spec`` in place, keeping it a valid schema."""
    named = named_types(spec)
    records = [n for n in named if n.kind == "record"]
    enums = [n for n in named if n.kind == "enum"]
    fixeds = [n for n in named if n.kind == "fixed"]
    # Hypothesis favours the first choices: the common, small changes come first.
    kinds = ["retype", "add_field", "default", "drop_field", "retype", "rename_field", "field_alias", "retype",
             "rename_type", "type_alias", "retype", "reorder_fields", "retype", "rename_type"]
    kinds += ["namespace"] if spec.namespaced else []
    kinds += ["enum_add", "enum_drop", "enum_default"] * 3 if enums else []
    kinds += ["fixed_size"] * 2 if fixeds else []
    kind = draw(st.sampled_from(kinds))
    if kind in ("rename_type", "type_alias", "namespace"):
        target = draw(st.sampled_from(named))
        rendered = render(spec)                            # full names as they stand now
        old = _fullname_in(rendered, target) or target.name
        if kind == "rename_type":
            target.name = _name(target.kind[0].upper())
            alias = draw(st.sampled_from(["full", "short", "none", "full"]))
            if alias != "none":
                target.aliases.append(old if alias == "full" else old.rpartition(".")[2])
        elif kind == "type_alias":
            others = [_fullname_in(rendered, n) or n.name for n in named if n is not target]
            target.aliases.append(draw(st.sampled_from([*others, old, "org.example.Elsewhere"])))
        else:
            target.namespace = draw(st.sampled_from([*NAMESPACES, None])) if target is not spec.root \
                else draw(st.sampled_from(NAMESPACES))
        return
    if kind in ("enum_add", "enum_drop", "enum_default"):
        enum = draw(st.sampled_from(enums))
        if kind == "enum_add":
            new = draw(st.sampled_from([s for s in "ABCDEFG" if s not in enum.symbols] or ["Z"]))
            if new not in enum.symbols:
                enum.symbols.insert(draw(st.integers(0, len(enum.symbols))), new)
        elif kind == "enum_drop" and len(enum.symbols) > 1:
            enum.symbols.remove(draw(st.sampled_from(enum.symbols)))
        else:
            enum.default = draw(st.none() | st.sampled_from(enum.symbols))
        if enum.default not in enum.symbols:
            enum.default = None
        return
    if kind == "fixed_size":
        fixed = draw(st.sampled_from(fixeds))
        fixed.size = max(1, fixed.size + draw(st.sampled_from([-1, 1])))
        return
    if kind == "retype":
        places = slots(spec)
        if places:
            place = draw(st.sampled_from(places))
            current = get(place)
            replacement = _other_type(draw, current, spec)
            holder, key = place
            if isinstance(holder, list):           # a union branch: keep the union valid
                branches = list(holder)
                branches[key] = replacement
                if isinstance(replacement, Union) or not union_ok(branches):
                    return
            put(place, replacement)
        return
    record = draw(st.sampled_from(records))
    names = [f.name for f in record.fields]
    if kind == "add_field":
        new = Fld(_name("g"), draw(type_node(2, named, spec.namespaced)), draw(st.booleans()))
        record.fields.insert(draw(st.integers(0, len(record.fields))), new)
    elif kind == "drop_field" and record.fields:
        record.fields.pop(draw(st.integers(0, len(record.fields) - 1)))
    elif kind == "rename_field" and record.fields:
        f = draw(st.sampled_from(record.fields))
        old, f.name = f.name, _name("r")
        if draw(st.booleans()):
            f.aliases.append(old)
    elif kind == "field_alias" and record.fields:
        f = draw(st.sampled_from(record.fields))
        candidates = [n for n in names if n != f.name] + ["gone", _name("x")]
        alias = draw(st.sampled_from(candidates))
        if alias not in f.aliases:
            f.aliases.append(alias)
    elif kind == "default" and record.fields:
        f = draw(st.sampled_from(record.fields))
        f.has_default = not f.has_default
    elif kind == "reorder_fields":
        record.fields.reverse()


def _fullname_in(rendered: Any, target: Named) -> str | None:
    """The full name ``target`` got where it is defined in ``rendered`` (None if not used)."""
    found: list[str] = []

    def visit(node: Any, enclosing: str | None) -> None:
        if isinstance(node, list):
            for b in node:
                visit(b, enclosing)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in ("array", "map"):
                visit(node["items" if kind == "array" else "values"], enclosing)
            elif kind in ("record", "enum", "fixed"):
                space = node.get("namespace") or enclosing
                full = f"{space}.{node['name']}" if space else node["name"]
                if node["name"] == target.name:
                    found.append(full)
                for f in node.get("fields", []):
                    visit(f["type"], full.rpartition(".")[0] or None)

    visit(rendered, None)
    return found[0] if found else None


@st.composite
def related_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    """(schema, a mutation of it) as JSON; 1 to 4 mutations."""
    spec = draw(schemas())
    before = render(spec)
    changed = copy.deepcopy(spec)
    for _ in range(draw(st.integers(1, 4))):
        draw(mutation(changed))
    return before, render(changed)
