"""Client-side inspection and rewriting of Spark Connect plans.

Nothing here asks the server to analyse a plan; everything walks the protobuf the client is about
to send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

from google.protobuf.message import Message

from palindrom.runtime import sqltext

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


def reads(relation: Message) -> Iterator[Any]:
    """Every ``Read`` node of a plan (named tables and data sources)."""
    for msg in _messages(relation):
        if msg.DESCRIPTOR.name == "Read":
            yield msg


def _sql_queries(relation: Message) -> Iterator[str]:
    for msg in _messages(relation):
        if msg.DESCRIPTOR.name == "SQL":
            yield cast(Any, msg).query


def is_streaming(relation: Message) -> bool:
    """True when the relation reads any source as a stream (so the flow is a streaming flow)."""
    return any(read.is_streaming for read in reads(relation)) or any(
        sqltext.reads_stream(query) for query in _sql_queries(relation))


def references_column(relation: Message, name: str) -> bool:
    """True when an unresolved attribute in the plan, or a name in its SQL text, starts with
    ``name`` (e.g. ``_metadata``)."""
    prefix = name.lower()
    if any(tok.kind in ("word", "ident") and tok.name.lower() == prefix
           for query in _sql_queries(relation) for tok in sqltext.tokens(query)):
        return True
    for msg in _messages(relation):
        if msg.DESCRIPTOR.name == "UnresolvedAttribute":
            ident = msg.unparsed_identifier.lower().strip("`")
            if ident == prefix or ident.startswith(prefix + "."):
                return True
    return False


def selects_whole_column(relation: Message, name: str) -> bool:
    """True when the plan refers to column ``name`` itself (not only to its fields)."""
    lowered = name.lower()
    if any(msg.DESCRIPTOR.name == "UnresolvedAttribute" and msg.unparsed_identifier.lower().strip("`") == lowered
           for msg in _messages(relation)):
        return True
    for query in _sql_queries(relation):
        toks = sqltext.tokens(query)
        for index, tok in enumerate(toks):
            if tok.kind in ("word", "ident") and tok.name.lower() == lowered \
                    and (index + 1 == len(toks) or toks[index + 1].text != "."):
                return True
    return False


def rewrite_cloud_files_reads(relation: Message, rewrite: Callable[[Any], None]) -> int:
    """Call ``rewrite`` with every ``cloudFiles`` ``Read.DataSource`` message; return how many."""
    count = 0
    for read in reads(relation):
        if read.WhichOneof("read_type") != "data_source":
            continue
        if read.data_source.format.lower() != CLOUD_FILES:
            continue
        rewrite(read.data_source)
        count += 1
    return count


# Relation types Spark Connect's planner translates by building a Dataset of their input, i.e. it
# analyses the input when the flow is *defined*, before the pipeline's datasets exist. Measured on
# Spark 4.3 over a read of a dataset of the same pipeline: withWatermark, drop, na.fill/drop/
# replace, describe, summary and to(schema) fail with TABLE_OR_VIEW_NOT_FOUND on a first run;
# withColumn(s) and withColumn(s)Renamed are analysed when the dataset already exists, bind the
# physical table and lose the flow's dependency (measured: such a materialized view ran before
# its upstream and read it empty). select, filter, join, groupBy, dropDuplicates, toDF, unpivot,
# union, sample, hint, repartition stay lazy. The grouped-map and stat relations build a Dataset
# of their input in the planner's code too. tests/test_dataframe_ops.py checks every one.
EAGER_RELATIONS = frozenset({
    "with_watermark", "drop", "fill_na", "drop_na", "replace", "summary", "describe", "to_schema",
    "with_columns", "with_columns_renamed",
    "group_map", "co_group_map", "apply_in_pandas_with_state", "crosstab", "freq_items", "sample_by",
})
DEFERRED_TYPE_URL = "type.googleapis.com/palindrom.Deferred"


def defer_eager(relation: Message) -> int:
    """Wrap every eagerly analysed relation in a ``palindrom.Deferred`` extension, which the
    server extension (``palindrom.sparkext``) translates once the pipeline has resolved its input.
    Innermost first, so an outer operation carries its already wrapped input. Returns how many."""
    nodes = [msg for msg in _messages(relation) if msg.DESCRIPTOR.name == "Relation"
             and cast(Any, msg).WhichOneof("rel_type") in EAGER_RELATIONS]
    for node in reversed(nodes):
        rel: Any = node
        original = type(rel)()
        original.CopyFrom(rel)
        common = type(rel.common)()
        common.CopyFrom(rel.common)
        rel.Clear()
        rel.common.CopyFrom(common)
        rel.extension.type_url = DEFERRED_TYPE_URL
        rel.extension.value = original.SerializeToString()
    return len(nodes)


def rewrite_paths(relation: Message, local: Callable[[str], str]) -> None:
    """Map the paths of every file-based read (``load(path)``, ``option("path", ...)``)."""
    for read in reads(relation):
        if read.WhichOneof("read_type") != "data_source":
            continue
        source = read.data_source
        mapped = [local(p) for p in source.paths]
        del source.paths[:]
        source.paths.extend(mapped)
        for key in [k for k in source.options if k.lower() == "path"]:
            source.options[key] = local(source.options[key])


def rewrite_format_reads(relation: Message, format_name: str, rewrite: Callable[[Any, bool], None]) -> int:
    """Call ``rewrite(data_source, is_streaming)`` with every ``Read.DataSource`` of ``format_name``
    (any case); return how many."""
    count = 0
    for read in reads(relation):
        if read.WhichOneof("read_type") == "data_source" and read.data_source.format.lower() == format_name:
            rewrite(read.data_source, read.is_streaming)
            count += 1
    return count


def redirect_table_reads(relation: Message, redirect: Callable[[str, bool], str | None]) -> int:
    """Point reads of named tables elsewhere: ``redirect(identifier, is_streaming)`` returns the
    new identifier, or None to keep the read as it is. Returns how many reads were changed."""
    count = 0
    for read in reads(relation):
        if read.WhichOneof("read_type") != "named_table":
            continue
        new_name = redirect(read.named_table.unparsed_identifier, read.is_streaming)
        if new_name is not None:
            read.named_table.unparsed_identifier = new_name
            count += 1
    return count


def _relations(relation: Message, rel_type: str) -> list[Any]:
    return [msg for msg in _messages(relation) if msg.DESCRIPTOR.name == "Relation"
            and cast(Any, msg).WhichOneof("rel_type") == rel_type]


def replace_reads(relation: Message, replacement: Callable[[str], Message | None]) -> int:
    """Replace each read of a named table by ``replacement(identifier)`` (a Relation), keeping the
    read's plan id so columns referenced through the DataFrame still resolve; None keeps it."""
    return replace_read_nodes(relation, lambda read: replacement(read.named_table.unparsed_identifier)
                              if read.WhichOneof("read_type") == "named_table" else None)


def replace_read_nodes(relation: Message, replacement: Callable[[Any], Message | None]) -> int:
    """Replace each read (a named table or a data source) by ``replacement(read)`` (a Relation),
    keeping the read's plan id; None keeps it. Returns how many reads were replaced."""
    count = 0
    for node in _relations(relation, "read"):
        new = replacement(node.read)
        if new is None:
            continue
        common = type(node.common)()
        common.CopyFrom(node.common)
        node.CopyFrom(new)
        node.common.CopyFrom(common)
        count += 1
    return count


def data_source_option(read: Any, key: str) -> str | None:
    """An option of a ``Read.DataSource`` by name, in any case (Spark's options are case-insensitive)."""
    if read.WhichOneof("read_type") != "data_source":
        return None
    return next((v for k, v in read.data_source.options.items() if k.lower() == key.lower()), None)


def external_sources(relation: Message) -> list[str]:
    """What a plan reads from outside the catalog, named as the graph shows it: ``Auto Loader
    (json): <path>``, ``kafka: <topics>``, ``<format>: <path>`` (sorted, once)."""
    found: list[str] = []
    for read in reads(relation):
        if read.WhichOneof("read_type") != "data_source":
            continue
        fmt = read.data_source.format.lower()
        if fmt == "kafka":
            topics = next((v for k in ("subscribe", "subscribePattern", "assign")
                           if (v := data_source_option(read, k))), "?")
            found.append(f"kafka: {topics}")
            continue
        inner = data_source_option(read, "cloudFiles.format") if fmt == CLOUD_FILES else None
        label = ("Auto Loader" if fmt == CLOUD_FILES else fmt or "files") + (f" ({inner})" if inner else "")
        paths = list(read.data_source.paths) or [data_source_option(read, "path") or ""]
        found.extend(f"{label}: {path}" for path in paths if path)
    return sorted(dict.fromkeys(found))


def to_batch(relation: Message) -> None:
    """Read every source as a batch: the same query, recomputed over all input."""
    for read in reads(relation):
        read.is_streaming = False


def aggregates_without_watermark(relation: Message) -> bool:
    """A streaming aggregation with no watermark anywhere in the plan. Databricks recomputes such a
    streaming table completely at every update; Spark cannot run it in append mode."""
    return any(is_streaming(node) and not _relations(node, "with_watermark")
               for node in _relations(relation, "aggregate"))


def read_names(relation: Message) -> list[str]:
    """Names of the tables and datasets a plan reads, in its reads and in SQL text (sorted, once)."""
    names = {read.named_table.unparsed_identifier.strip("`") for read in reads(relation)
             if read.WhichOneof("read_type") == "named_table"}
    for query in _sql_queries(relation):
        names.update(sqltext.table_references(query))
    return sorted(names)


def sql_relations(relation: Message) -> list[Any]:
    """The SQL-text relations in a plan (``spark.sql`` and SQL pipeline files)."""
    return [msg for msg in _messages(relation) if msg.DESCRIPTOR.name == "SQL"]
