"""Client-side inspection and rewriting of Spark Connect plans.

Nothing here asks the server to analyse a plan (SPARK-54562 blocks eager analysis inside
query functions); everything walks the protobuf the client is about to send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

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


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def rewrite_drops(relation: Message) -> int:
    """Rewrite ``df.drop("a", "b")`` nodes into ``SELECT * EXCEPT (a, b)`` projections.

    Spark Connect's planner analyses a ``Drop`` eagerly, outside the pipeline's analysis context,
    so a drop over a dataset of the same pipeline fails with TABLE_OR_VIEW_NOT_FOUND when the flow
    is defined. ``* EXCEPT`` is resolved lazily, like the rest of the flow. One difference: a name
    that is not a column is an error here, where ``drop`` ignores it.
    """
    drops = [msg for msg in _messages(relation)
             if msg.DESCRIPTOR.name == "Relation" and cast(Any, msg).WhichOneof("rel_type") == "drop"]
    rewritten = 0
    for node in reversed(drops):  # innermost first, so an outer drop copies a rewritten input
        rel: Any = node
        names = [_quoted(name) for name in rel.drop.column_names]
        for expr in rel.drop.columns:
            if expr.WhichOneof("expr_type") != "unresolved_attribute":
                break
            names.append(expr.unresolved_attribute.unparsed_identifier)  # already an identifier
        else:
            child = type(rel.drop.input)()
            child.CopyFrom(rel.drop.input)
            rel.project.input.CopyFrom(child)
            star = rel.project.expressions.add()
            star.expression_string.expression = "* EXCEPT (" + ", ".join(names) + ")"
            rewritten += 1
    return rewritten


def redirect_table_reads(relation: Message, redirect: Callable[[str, bool], str | None]) -> int:
    """Point reads of named tables elsewhere: ``redirect(identifier, is_streaming)`` returns the
    new identifier, or None to keep the read as it is. Returns how many reads were changed."""
    count = 0
    for read in _reads(relation):
        if read.WhichOneof("read_type") != "named_table":
            continue
        new_name = redirect(read.named_table.unparsed_identifier, read.is_streaming)
        if new_name is not None:
            read.named_table.unparsed_identifier = new_name
            count += 1
    return count


def read_names(relation: Message) -> list[str]:
    """Names of the tables and datasets a plan reads (sorted, without duplicates)."""
    names = {read.named_table.unparsed_identifier.strip("`") for read in _reads(relation)
             if read.WhichOneof("read_type") == "named_table"}
    return sorted(names)
