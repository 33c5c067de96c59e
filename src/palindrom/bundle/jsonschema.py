"""A JSON schema of the bundle's ``resources`` section, generated from the databricks-bundles models.

The databricks-bundles models are generated from the bundle JSON schema the Databricks CLI publishes
(``databricks bundle schema``); this turns them back into a schema of the same shape: every object
``additionalProperties: false`` with its required fields, enums as the models list them, and every
value that is not a string also accepting a ``${...}`` reference, as the CLI's schema does. The CLI's
own schema can be checked the same way (``PALINDROM_BUNDLE_SCHEMA``, tests/test_bundle_generated.py).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from databricks.bundles.core import Variable
from databricks.bundles.core._resource_type import _ResourceType

_REFERENCE = r"\$\{(%s(\.[a-zA-Z]+([-_]*[a-zA-Z0-9]+)*(\[[0-9]+\])*)+)\}"
_SCALAR_REFERENCES = [{"type": "string", "pattern": _REFERENCE % p}
                      for p in ("resources", "bundle", "workspace", "artifacts", "var")]
_VARIABLE = [{"type": "string", "pattern": _REFERENCE % "var"}]


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def of(self, tp: Any) -> dict[str, Any]:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            members = [a for a in args if a is not type(None) and typing.get_origin(a) is not Variable]
            if len(members) != 1:
                raise TypeError(f"cannot map union {tp!r}")
            return self.of(members[0])
        if origin is list:
            return {"oneOf": [{"type": "array", "items": self.of(args[0])}, *_VARIABLE]}
        if origin is dict:
            return {"oneOf": [{"type": "object", "additionalProperties": self.of(args[1])}, *_VARIABLE]}
        if origin is typing.Literal:
            return {"oneOf": [{"type": "string", "enum": list(args)}, *_SCALAR_REFERENCES]}
        if tp is Any:
            return {}
        if tp is str:
            return {"type": "string"}
        for python, json_type in ((bool, "boolean"), (int, "integer"), (float, "number")):
            if tp is python:
                return {"oneOf": [{"type": json_type}, *_SCALAR_REFERENCES]}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"oneOf": [{"type": "string", "enum": [m.value for m in tp]}, *_SCALAR_REFERENCES]}
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._dataclass(tp)
        raise TypeError(f"cannot map type {tp!r}")

    def _dataclass(self, cls: Any) -> dict[str, Any]:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: recursive types refer to it
            hints = typing.get_type_hints(cls)
            fields = [f for f in dataclasses.fields(cls) if f.init]
            required = [f.name for f in fields
                        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
            body: dict[str, Any] = {"type": "object", "properties": {f.name: self.of(hints[f.name]) for f in fields},
                                    "additionalProperties": False}
            if required:
                body["required"] = required
            self.defs[name] = {"oneOf": [body, *_VARIABLE]}
        return {"$ref": f"#/$defs/{name}"}


def resources_schema() -> dict[str, Any]:
    """JSON schema of ``{"resources": {<kind>: {<key>: <resource>}}}`` for every resource kind."""
    builder = _Builder()
    kinds = {t.plural_name: {"oneOf": [{"type": "object", "additionalProperties": builder.of(t.resource_type)},
                                       *_VARIABLE]}
             for t in _ResourceType.all()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"resources": {"type": "object", "properties": kinds, "additionalProperties": False}},
        "additionalProperties": False,
        "$defs": builder.defs,
    }
