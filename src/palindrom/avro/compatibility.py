"""Avro schema compatibility by the specification's resolution rules, and Apicurio's rule levels.

``problems(reader, writer)`` lists why data written with ``writer`` cannot be read with ``reader``
(empty when it can). ``violations(rule, new, previous)`` applies a COMPATIBILITY rule level.
"""

from __future__ import annotations

from typing import Any

PROMOTIONS = {("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"),
              ("float", "double"), ("string", "bytes"), ("bytes", "string")}
RULES = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")


def _names(schema: Any, found: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, list):
        for member in schema:
            _names(member, found)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed"):
            found[schema["name"]] = schema
            if schema.get("namespace"):
                found[f"{schema['namespace']}.{schema['name']}"] = schema
        for field in schema.get("fields", []):
            _names(field["type"], found)
        for key in ("items", "values"):
            if key in schema:
                _names(schema[key], found)
        if isinstance(schema.get("type"), (dict, list)):
            _names(schema["type"], found)
    return found


def _kind(schema: Any, names: dict[str, Any]) -> tuple[str, Any]:
    if isinstance(schema, str):
        return (schema, schema) if schema not in names else (names[schema]["type"], names[schema])
    if isinstance(schema, list):
        return "union", schema
    if isinstance(schema["type"], (dict, list)):
        return _kind(schema["type"], names)
    if schema["type"] in ("record", "enum", "fixed", "array", "map"):
        return schema["type"], schema
    return schema["type"], schema["type"]


def problems(reader: Any, writer: Any) -> list[str]:
    return _check(reader, writer, _names(reader, {}), _names(writer, {}), "", set())


def _check(reader: Any, writer: Any, rn: dict[str, Any], wn: dict[str, Any], at: str,
           seen: set[tuple[str, str]]) -> list[str]:
    rk, rs = _kind(reader, rn)
    wk, ws = _kind(writer, wn)
    where = at or "/"
    if wk == "union":
        return [p for member in ws for p in _check(reader, member, rn, wn, at, seen)]
    if rk == "union":
        for member in rs:
            if not _check(member, writer, rn, wn, at, seen):
                return []
        return [f"{where}: {_show(writer)} written data matches no branch of the reader's union {_show(reader)}"]
    if rk != wk:
        if (wk, rk) in PROMOTIONS:
            return []
        return [f"{where}: type changed from {wk} to {rk}, which is not a promotion Avro allows"]
    if rk == "record":
        key = (rs["name"], ws["name"])
        if key in seen:
            return []
        seen = seen | {key}
        found: list[str] = []
        written = {f["name"]: f for f in ws["fields"]}
        for field in rs["fields"]:
            source = written.get(field["name"]) or next(
                (written[a] for a in field.get("aliases", []) if a in written), None)
            if source is None:
                if "default" not in field:
                    found.append(f"{at}/{field['name']}: field added without a default")
                continue
            found += _check(field["type"], source["type"], rn, wn, f"{at}/{field['name']}", seen)
        return found
    if rk == "enum":
        missing = sorted(set(ws["symbols"]) - set(rs["symbols"]))
        if missing and "default" not in rs:
            return [f"{where}: enum symbols {missing} removed without a default symbol"]
        return []
    if rk == "fixed":
        return [] if rs["size"] == ws["size"] else [f"{where}: fixed size changed from {ws['size']} to {rs['size']}"]
    if rk == "array":
        return _check(rs["items"], ws["items"], rn, wn, f"{at}[]", seen)
    if rk == "map":
        return _check(rs["values"], ws["values"], rn, wn, f"{at}{{}}", seen)
    return []


def _show(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name") or schema.get("type"))
    return str(schema)


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
