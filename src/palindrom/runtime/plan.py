"""Client-side inspection and rewriting of Spark Connect plans.

Nothing here asks the server to analyse a plan (SPARK-54562 blocks eager analysis inside
query functions); everything walks the protobuf the client is about to send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf.message import Message

CLOUD_FILES = "cloudfiles"


def _messages(message: Message) -> Iterator[Message]:
    """Depth-first walk over every sub-message of a protobuf message."""
    yield message
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if not isinstance(value, Message):  # a repeated field (maps hold no plan nodes)
            if field.message_type.GetOptions().map_entry:
                continue
            for item in value:
                yield from _messages(item)
        else:
            yield from _messages(value)


def _reads(relation: Message) -> Iterator[Any]:
    for msg in _messages(relation):
        if msg.DESCRIPTOR.name == "Read":
            yield msg


def is_streaming(relation: Message) -> bool:
    """True when the relation reads any source as a stream (so the flow is a streaming flow)."""
    return any(read.is_streaming for read in _reads(relation))


def references_column(relation: Message, name: str) -> bool:
    """True when an unresolved attribute in the plan starts with ``name`` (e.g. ``_metadata``)."""
    prefix = name.lower()
    for msg in _messages(relation):
        if msg.DESCRIPTOR.name == "UnresolvedAttribute":
            ident = msg.unparsed_identifier.lower().strip("`")
            if ident == prefix or ident.startswith(prefix + "."):
                return True
    return False


def rewrite_cloud_files_reads(relation: Message, rewrite: Callable[[Any], None]) -> int:
    """Call ``rewrite`` with every ``cloudFiles`` ``Read.DataSource`` message; return how many."""
    count = 0
    for read in _reads(relation):
        if read.WhichOneof("read_type") != "data_source":
            continue
        if read.data_source.format.lower() != CLOUD_FILES:
            continue
        rewrite(read.data_source)
        count += 1
    return count
