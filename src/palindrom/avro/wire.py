"""Kafka message framings of Avro payloads, as the serializers of each registry write them.

The format cannot be detected reliably from the bytes (NOTES §4), so it is configuration per source:

* ``apicurio3``  byte 0, then a 4-byte big-endian contentId, then the Avro body (Apicurio 3.x default)
* ``apicurio2``  byte 0, then an 8-byte big-endian globalId, then the body (Apicurio 2.x in-payload)
* ``headers``    plain Avro body; the id in header ``apicurio.value.globalId`` or
                 ``apicurio.value.contentId`` as an 8-byte big-endian long (Apicurio headers mode)
* ``confluent``  byte 0, then a 4-byte big-endian schema id, through ``/apis/ccompat/v7``
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Literal, NamedTuple

WireFormat = Literal["apicurio3", "apicurio2", "headers", "confluent"]
WIRE_FORMATS: tuple[WireFormat, ...] = ("apicurio3", "apicurio2", "headers", "confluent")
IdKind = Literal["globalId", "contentId", "confluentId"]
MAGIC = 0
GLOBAL_ID_HEADER = "apicurio.value.globalId"
CONTENT_ID_HEADER = "apicurio.value.contentId"


class WireError(ValueError):
    """A payload that does not follow its configured framing."""


class SchemaRef(NamedTuple):
    """A writer schema's id as a message carries it (a tuple: hashed and compared at C speed)."""

    kind: IdKind
    id: int


def frame(fmt: WireFormat, ref: SchemaRef, body: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(value, headers) as a producer using this framing sends them."""
    if fmt == "apicurio3":
        return bytes([MAGIC]) + struct.pack(">I", ref.id) + body, []
    if fmt == "apicurio2":
        return bytes([MAGIC]) + struct.pack(">q", ref.id) + body, []
    if fmt == "confluent":
        return bytes([MAGIC]) + struct.pack(">I", ref.id) + body, []
    header = GLOBAL_ID_HEADER if ref.kind == "globalId" else CONTENT_ID_HEADER
    return body, [(header, struct.pack(">q", ref.id))]


def unframe(fmt: WireFormat, value: bytes | None,
            headers: Mapping[str, bytes] | None = None) -> tuple[SchemaRef, bytes]:
    """The schema reference and the Avro body of one message; WireError says what is wrong."""
    if value is None:
        raise WireError("the message has no value (a tombstone)")
    if fmt == "headers":
        headers = headers or {}
        found: tuple[tuple[str, IdKind], ...] = ((GLOBAL_ID_HEADER, "globalId"), (CONTENT_ID_HEADER, "contentId"))
        for name, header_kind in found:
            raw = headers.get(name)
            if raw is not None:
                if len(raw) != 8:
                    raise WireError(f"header {name} has {len(raw)} bytes; expected an 8-byte big-endian long")
                return SchemaRef(header_kind, struct.unpack(">q", raw)[0]), value
        raise WireError(f"no {GLOBAL_ID_HEADER} or {CONTENT_ID_HEADER} header (headers mode)")
    width = 8 if fmt == "apicurio2" else 4
    if len(value) < 1 + width:
        raise WireError(f"{len(value)} bytes is shorter than the {1 + width}-byte {fmt} header")
    if value[0] != MAGIC:
        raise WireError(f"magic byte is {value[0]}, expected {MAGIC} ({fmt} framing)")
    if fmt == "apicurio2":
        return SchemaRef("globalId", struct.unpack(">q", value[1:9])[0]), value[9:]
    kind: IdKind = "contentId" if fmt == "apicurio3" else "confluentId"
    return SchemaRef(kind, struct.unpack(">I", value[1:5])[0]), value[5:]
