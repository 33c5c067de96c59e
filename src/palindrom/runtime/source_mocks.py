"""Sources replaced in the plan (``palindrom.testing``'s mocks of what a pipeline reads from outside).

A dataset or flow is mocked by its name (``graph.LocalGraphRegistry``); a *source* by how the plan
names it, wherever a flow or view reads it:

* ``kafka:<topic>``: a Kafka read (``format("kafka")``) that subscribes to the topic; the mock has
  Spark's Kafka source columns (:data:`KAFKA_SOURCE_SCHEMA`), so the pipeline's own decoding runs;
* any other name: a read of that table by name (``spark.read.table``, ``dlt.read``, SQL) that is
  not a dataset of the pipeline, e.g. ``main.reference.countries``; matched without backticks and
  case-insensitively, as Spark resolves names.

Each matching read node is replaced by the mock's query (a read of its batches), keeping the node's
plan id, so the rest of the flow's query is unchanged; its streaming-ness is the read's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from google.protobuf.message import Message
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from palindrom.runtime import plan, sqltext
from palindrom.runtime.kafka_schema import KAFKA_SOURCE_SCHEMA

KAFKA_PREFIX = "kafka:"

# Writes the mock's batches and returns the query reading them: (update session, schema or None, streaming).
SourceSubstitute = Callable[[SparkSession, "T.StructType | None", bool], DataFrame]


def normalized(name: str) -> str:
    """A table name as Spark matches it: parts without backticks, lower case."""
    return ".".join(part.strip("`").lower() for part in sqltext.split_identifier(name))


def mock_key(name: str) -> str:
    """The key a mock of ``name`` is known by: ``kafka:<topic>`` as given, a name as Spark matches it."""
    return name if name.startswith(KAFKA_PREFIX) else normalized(name)


def keys_of(read: Any) -> list[str]:
    """The mock names a ``Read`` answers to: its table name, or ``kafka:<topic>`` per subscribed topic."""
    kind = read.WhichOneof("read_type")
    if kind == "named_table":
        return [normalized(read.named_table.unparsed_identifier)]
    if kind == "data_source" and read.data_source.format.lower() == "kafka":
        topics = plan.data_source_option(read, "subscribe") or ""
        return [KAFKA_PREFIX + t.strip() for t in topics.split(",") if t.strip()]
    return []


class SourceMocks:
    """The source mocks of one update; :meth:`replace` rewrites a relation in place."""

    def __init__(self, substitutes: Mapping[str, SourceSubstitute], spark: SparkSession, client: Any,
                 is_pipeline_name: Callable[[str], bool]) -> None:
        """``substitutes`` by name, of datasets and flows too: a name ``is_pipeline_name`` knows
        (when the plan is prepared) is not a source."""
        self._by_key = {mock_key(name): (name, substitute) for name, substitute in substitutes.items()}
        self._spark = spark
        self._client = client
        self._is_pipeline_name = is_pipeline_name


    def is_source(self, name: str) -> bool:
        return name.startswith(KAFKA_PREFIX) or not self._is_pipeline_name(name)

    def replace(self, relation: Message) -> int:
        """Replace every read of a mocked source in ``relation``; returns how many."""
        if not self._by_key:
            return 0
        return plan.replace_read_nodes(relation, self._replacement)

    def _replacement(self, read: Any) -> Message | None:
        key = next((k for k in keys_of(read) if k in self._by_key), None)
        if key is None:
            return None
        name, substitute = self._by_key[key]
        if not self.is_source(name):
            return None
        schema = KAFKA_SOURCE_SCHEMA if key.startswith(KAFKA_PREFIX) else None
        frame = substitute(self._spark, schema, bool(read.is_streaming))
        return cast(Message, cast(Any, frame)._plan.plan(self._client))

    def unused(self, relations: Iterable[Message]) -> tuple[list[str], list[str]]:
        """(mocks no relation reads, the sources the relations do read), for an error message."""
        read: set[str] = set()
        for relation in relations:
            for node in plan.reads(relation):
                read.update(keys_of(node))
        names = {key: name for key, (name, _) in self._by_key.items() if self.is_source(name)}
        return sorted(name for key, name in names.items() if key not in read), sorted(read)
