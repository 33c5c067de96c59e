"""Analysis inside query functions, resolved in dependency order as on Databricks.

Databricks evaluates a pipeline's query functions in dependency order, so a function may look at
the schema of what it reads: ``df.columns``, ``df.schema``, ``df.dtypes`` over ``dlt.read(...)`` of
a dataset of the same pipeline. Open-source Spark refuses any analysis inside a query function
(ATTEMPT_ANALYSIS_IN_PIPELINE_QUERY_FUNCTION), and the datasets do not exist before the first run.

While a graph is defined, :class:`SchemaResolver` answers those requests itself: a plan that reads
datasets of the graph is analysed with each such read replaced by an empty relation of that
dataset's schema, which the registry works out by running the dataset's own query functions
first (recursively, so the order is the dependency order). ``isStreaming`` is answered from the
plan on the client. Reads of tables outside the graph are analysed by the server as usual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, cast

import pyspark.sql.connect.proto as pb2
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from palindrom.runtime import plan, sqltext

SchemaOf = Callable[[str], "T.StructType | None"]  # a graph dataset's schema, None when not one
_PLACEHOLDER_VIEW = "__palindrom_schema_of_"
Prepare = Callable[[pb2.Relation], None]  # rewrites a relation as the registry sends it


class SchemaResolver:
    def __init__(self, spark: SparkSession, schema_of: SchemaOf, prepare: Prepare) -> None:
        self._spark = spark
        self._client: Any = cast(Any, spark).client
        self._schema_of = schema_of
        self._prepare = prepare
        self._analyze = self._client._analyze

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        self._client._analyze = self._answer
        try:
            yield
        finally:
            self._client._analyze = self._analyze

    def schema(self, relation: pb2.Relation) -> T.StructType:
        """The output schema of a flow's relation, reads of graph datasets resolved first."""
        query = pb2.Plan()
        query.root.CopyFrom(relation)
        result = self._answer("schema", plan=query)
        return cast(T.StructType, result.schema)

    def parse_ddl(self, ddl: str) -> T.StructType:
        """A table's declared schema (``schema="id INT NOT NULL, ..."``) as Spark parses it."""
        with self._outside_query_function():
            parsed = self._analyze("ddl_parse", ddl_string=ddl).parsed
        if not isinstance(parsed, T.StructType):
            raise ValueError(f"The table schema '{ddl}' is not a list of columns.")
        return parsed

    def _answer(self, method: str, **kwargs: Any) -> Any:
        query = kwargs.get("plan")
        if method == "is_streaming" and isinstance(query, pb2.Plan):
            return _Result(is_streaming=plan.is_streaming(query.root))
        views: list[str] = []
        with self._outside_query_function():
            try:
                if isinstance(query, pb2.Plan):
                    substituted = pb2.Plan()
                    substituted.CopyFrom(query)
                    plan.replace_reads(substituted.root, self._placeholder)
                    self._prepare(substituted.root)
                    views = self._sql_placeholders(substituted.root)
                    kwargs = {**kwargs, "plan": substituted}
                return self._analyze(method, **kwargs)
            finally:
                for view in views:
                    self._spark.catalog.dropTempView(view)

    def _sql_placeholders(self, root: pb2.Relation) -> list[str]:
        """SQL text names datasets the plan cannot replace: while it is analysed, session temporary
        views of their schemas stand in for them (read as batches: only the schema matters)."""
        created: dict[str, str] = {}

        def placeholder(name: str) -> str | None:
            schema = self._schema_of(name)
            if schema is None:
                return None
            if name not in created:
                created[name] = f"{_PLACEHOLDER_VIEW}{len(created)}"
                self._spark.createDataFrame([], schema).createOrReplaceTempView(created[name])
            return f"`{created[name]}`"

        for sql in plan.sql_relations(root):
            sql.query = sqltext.map_table_references(sqltext.without_stream(sql.query), placeholder)
        return list(created.values())

    def _placeholder(self, identifier: str) -> pb2.Relation | None:
        schema = self._schema_of(identifier)
        if schema is None:
            return None
        return pb2.Relation(local_relation=pb2.LocalRelation(schema=schema.json()))

    @contextlib.contextmanager
    def _outside_query_function(self) -> Iterator[None]:
        """The server refuses analysis under a pipeline analysis context; this one is ours."""
        local = self._client.thread_local
        saved = list(getattr(local, "user_context_extensions", []))
        local.user_context_extensions = []
        try:
            yield
        finally:
            local.user_context_extensions = saved


class _Result:
    def __init__(self, is_streaming: bool) -> None:
        self.is_streaming = is_streaming
