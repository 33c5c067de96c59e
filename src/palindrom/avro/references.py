"""Dereferencing an Avro schema that uses named types of other registry artifacts.

An Apicurio artifact version can reference named types defined by other artifacts (its
``references``: the type's full name plus group, artifact and version). Serializers and Spark
need one self-contained schema, which the registry builds when asked (``references=DEREFERENCE``):
each referenced type's definition replaces its first use; later uses keep the name, which is then
defined. ``inline`` does the same on the client for lookups the registry serves only raw (content
by contentId). References are resolved recursively by the caller: ``definitions`` must already be
self-contained.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})


def inline(schema: str, definitions: Mapping[str, str]) -> str:
    """``schema`` with every referenced full name in ``definitions`` defined at its first use."""
    if not definitions:
        return schema
    walker = _Inliner({name: json.loads(text) for name, text in definitions.items()})
    return json.dumps(walker.walk(json.loads(schema), ""))


def _full_name(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


class _Inliner:
    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self.defined: set[str] = set()

    def walk(self, node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            if node in _PRIMITIVES:
                return node
            full = _full_name(node, namespace)
            if full in self.definitions and full not in self.defined:
                definition = self.definitions[full]
                if isinstance(definition, dict) and "namespace" not in definition and "." not in definition["name"]:
                    definition = {**definition, "namespace": full.rpartition(".")[0]}
                return self.walk(definition, namespace)
            return node
        if isinstance(node, list):
            return [self.walk(branch, namespace) for branch in node]
        if not isinstance(node, dict):
            return node
        kind = node.get("type")
        if kind in _NAMED:
            inner = node.get("namespace", namespace) if "." not in node["name"] else node["name"].rpartition(".")[0]
            self.defined.add(_full_name(node["name"], inner))
            if kind in ("record", "error"):
                return {**node, "fields": [{**f, "type": self.walk(f["type"], inner)} for f in node["fields"]]}
            return node
        if kind == "array":
            return {**node, "items": self.walk(node["items"], namespace)}
        if kind == "map":
            return {**node, "values": self.walk(node["values"], namespace)}
        return {**node, "type": self.walk(kind, namespace)}
