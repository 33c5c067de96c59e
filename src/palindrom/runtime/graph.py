"""A graph element registry that gives open-source SDP Databricks's semantics.

Pipeline files register outputs and flows through ``pyspark.pipelines`` (directly, or through the
local ``dlt`` module, or through SQL files). This registry buffers them until every file has
loaded, resolves the query functions in dependency order (so they may look at the schemas of
what they read, as on Databricks: :mod:`palindrom.runtime.resolution`), then registers a
rewritten graph with the Spark Connect server:

* a table whose flows are all batch queries becomes a materialized view (``@dlt.table`` over a
  batch DataFrame is one on Databricks; open-source ``@dp.table`` always makes a streaming table),
  and so does a streaming aggregation without a watermark, which Databricks recomputes in full;
* every table is stored in the runtime's table format (Parquet, several flows may append to one
  table: ``palindrom.sparkext``); private tables are stored but not listed;
* ``once`` flows compute their batch query into a hidden table once and stream it into the target;
* expectations are applied to each flow of a dataset, and counted;
* ``cloudFiles`` reads get state and schema locations in the pipeline's storage;
* AUTO CDC flows run through the local fallback in :mod:`palindrom.runtime.cdc`;
* ``LIVE.`` prefixes and Unity Catalog catalog names in table reads resolve in the local catalog;
* operations Spark Connect would analyse before the graph exists are deferred to the server
  extension (``plan.defer_eager``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pyspark
import pyspark.sql.connect.proto as pb2
from pyspark.pipelines.add_pipeline_analysis_context import add_pipeline_analysis_context
from pyspark.pipelines.flow import AutoCdcFlow, Flow
from pyspark.pipelines.output import MaterializedView, Output, Sink, StreamingTable, Table, TemporaryView
from pyspark.pipelines.source_code_location import SourceCodeLocation
from pyspark.pipelines.spark_connect_graph_element_registry import (
    SparkConnectGraphElementRegistry,
    source_code_location_to_proto,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom import sparkext
from palindrom.autoloader.options import split_glob
from palindrom.delta import log as delta_log
from palindrom.runtime import cdc, expectations, plan, snapshots_cdc, sqltext
from palindrom.runtime.resolution import SchemaResolver
from palindrom.runtime.source_mocks import SourceMocks

ROWS_METRIC_PREFIX = "palindrom_rows:"
# Rescued-data columns (Auto Loader's, the container decoder's): rows written with one set are
# counted by the flow's rows metric, so an update's bad records need no scan of the table.
RESCUE_COLUMNS = ("_rescued_data", "rescued_data")
QUALITY_METRIC_PREFIX = "palindrom_dq:"
QUALITY_TABLE_PREFIX = "_palindrom_dq_"
HIDDEN_PREFIX = "__palindrom_"
METADATA_COLUMN = "_metadata"  # the file metadata column (hidden on Databricks)
FEED_PREFIX = HIDDEN_PREFIX + "feed_"
PRIVATE_SCHEMA_SUFFIX = "__private"  # private tables: stored in <database>__private, not published
_USER_FORMATS = (None, "parquet", "delta")  # Delta is Parquet with a log: stored in the runtime's format


class PipelineGraphError(ValueError):
    """The graph cannot be built as declared (a cycle, a dataset without flows, ...)."""


# Replaces a dataset's flows (or one flow) with a query of given rows (palindrom.testing's mocks):
# called with the update's session, the schema the replaced query has (None when it cannot be
# analysed locally, e.g. a Kafka source) and whether it streams.
Substitute = Callable[[SparkSession, "T.StructType | None", bool], DataFrame]


@dataclass
class FlowInfo:
    """What the runner needs to know about a registered flow."""

    name: str
    target: str
    streaming: bool
    source: str  # "file.py:line"
    expectations: list[expectations.Expectation] = field(default_factory=list)
    quality_table: str | None = None  # batch flows: the hidden table holding expectation counts
    inputs: list[str] = field(default_factory=list)  # datasets and tables the flow reads
    # A flow that feeds a batch query into a streaming table (once flows, snapshots): the hidden
    # table the query is computed into. Held: not run in this update (a once flow that has run;
    # snapshots with nothing new), so it is left out of the server's graph.
    feed: str | None = None
    once: bool = False
    held: bool = False
    rescue_column: str | None = None  # the rescued-data column the flow writes (RESCUE_COLUMNS)
    schema: T.StructType | None = None  # the flow's own output columns, before expectations (None: unresolved)
    sources: list[str] = field(default_factory=list)  # files and streams it reads (plan.external_sources)


@dataclass(frozen=True)
class BatchSinkFlow:
    """A flow into a ``foreach_batch_sink``: run by the runner after the graph's flows, as a stream
    of its (prepared) relation whose micro-batches go to the sink's handler."""

    name: str
    sink: str
    relation: bytes   # the prepared Spark Connect relation, serialized
    handler: Callable[[DataFrame, int], None]


@dataclass
class GraphInfo:
    flows: dict[str, FlowInfo] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # name -> kind
    notices: list[str] = field(default_factory=list)
    private: set[str] = field(default_factory=set)  # stored in the private schema, not published
    comments: dict[str, str] = field(default_factory=dict)
    batch_sinks: list[BatchSinkFlow] = field(default_factory=list)

    def schema_of(self, name: str, database: str) -> str:
        """The local schema (database) a dataset's table lives in."""
        return private_schema(database) if name in self.private else database

    def graph_name(self, name: str, database: str) -> str:
        """The name the server's graph knows a dataset by (private ones are qualified)."""
        return f"{private_schema(database)}.{name}" if name in self.private else name

    def to_json(self) -> dict[str, Any]:
        return {"outputs": self.outputs, "private": sorted(self.private), "comments": self.comments,
                "flows": {name: {"target": f.target, "streaming": f.streaming, "source": f.source,
                                 "inputs": f.inputs, "sources": f.sources, "feed": f.feed, "once": f.once,
                                 "held": f.held,
                                 "expectations": [dataclasses.asdict(e) for e in f.expectations]}
                          for name, f in self.flows.items()}}


def private_schema(database: str) -> str:
    return database + PRIVATE_SCHEMA_SUFFIX


def is_internal(name: str) -> bool:
    """Datasets the local runtime adds (expectation counters, once results, ...), not the user's."""
    short = name.rsplit(".", 1)[-1].strip("`")
    return short.startswith((HIDDEN_PREFIX, QUALITY_TABLE_PREFIX))


def _location(obj: Any) -> str:
    loc = obj.source_code_location
    return f"{loc.filename}:{loc.line_number}"


@dataclass
class _Definition:
    frame: DataFrame
    relation: Any
    streaming: bool
    expectations: list[expectations.Expectation]
    inputs: list[str]
    recomputed: bool = False  # a streaming aggregation without a watermark, run as a batch query


class LocalGraphRegistry(SparkConnectGraphElementRegistry):
    def __init__(self, spark: SparkSession, dataflow_graph_id: str, state_dir: Path, database: str,
                 update_started: Any = None, local_paths: dict[str, str] | None = None,
                 once_done: frozenset[str] = frozenset(), substitutes: Mapping[str, Substitute] | None = None) -> None:
        super().__init__(spark, dataflow_graph_id)
        self._substitutes = dict(substitutes or {})
        self._state_dir = state_dir
        self._database = database
        self._outputs: dict[str, Output] = {}
        self._flows: list[Flow] = []
        self._cdc: dict[str, str] = {}  # CDC flow name -> its target
        self._feeds: dict[str, bool] = {}  # flow -> whether its hidden result is recomputed this update
        self._once_done = once_done  # once flows that have run, whose targets are not fully refreshed
        self._update_started = update_started
        # Paths as they are on Databricks (/Volumes/..., /databricks-datasets/..., s3://...) -> local
        # folders, longest prefix first (palindrom.local_paths).
        self._local_paths = sorted((local_paths or {}).items(), key=lambda item: -len(item[0]))
        self._sql: list[tuple[str, Path]] = []
        self._table_expectations: dict[str, list[expectations.Expectation]] = {}
        self._once: set[str] = set()
        self._batch_sinks: dict[str, Callable[[DataFrame, int], None]] = {}
        self._private: set[str] = set()
        self._session_views: set[str] = set()  # temporary views pipeline code created at load time
        self._definitions: dict[str, _Definition] = {}
        self._defining: list[str] = []
        self._schemas: dict[str, T.StructType] = {}
        self._resolving: list[str] = []
        self._wants_metadata = False
        self._resolver = SchemaResolver(spark, self._dataset_schema, self._prepare_for_analysis)
        # Mocks of names that are not datasets or flows: sources, replaced in every plan (even one
        # analysed while the pipeline's code loads).
        self._source_mocks = SourceMocks(self._substitutes, spark, self._client, self._is_pipeline_name)
        self.info = GraphInfo()

    # -- buffering -------------------------------------------------------------------------------
    def register_output(self, output: Output) -> None:
        output = dataclasses.replace(output, source_code_location=_user_location(output.source_code_location))
        if output.name in self._outputs:
            raise PipelineGraphError(f"Dataset '{output.name}' is defined twice ({_location(output)} and "
                                     f"{_location(self._outputs[output.name])}).")
        self._outputs[output.name] = output

    def register_flow(self, flow: Flow) -> None:
        flow = dataclasses.replace(flow, source_code_location=_user_location(flow.source_code_location))
        if any(f.name == flow.name for f in self._flows):
            raise PipelineGraphError(f"Flow '{flow.name}' is defined twice ({_location(flow)}); flow names "
                                     "must be unique in a pipeline (name= on append_flow).")
        self._flows.append(flow)

    def register_session_view(self, name: str, frame: DataFrame, location: SourceCodeLocation) -> None:
        """``df.createOrReplaceTempView(name)`` at load time. On Databricks the view lives in the
        update's session, where every dataset query sees it; the open-source engine qualifies a
        name it does not know as a table of the pipeline's schema, so the view also joins the graph
        as a temporary view (a later ``createOrReplaceTempView`` of the name replaces it)."""
        existing = self._outputs.get(name)
        if existing is not None and name not in self._session_views:
            raise PipelineGraphError(f"A temporary view '{name}' is created at {location.filename}:"
                                     f"{location.line_number}, but the pipeline defines a dataset of that name at "
                                     f"{_location(existing)}; rename one of them.")
        self._session_views.add(name)
        self._outputs.pop(name, None)
        self._flows = [f for f in self._flows if f.name != name]
        self.register_output(TemporaryView(name=name, comment="temporary view created by pipeline code",
                                           source_code_location=location))
        self.register_flow(Flow(name=name, target=name, func=lambda: frame, spark_conf={},
                                source_code_location=location))

    def register_auto_cdc_flow(self, flow: AutoCdcFlow) -> None:
        """``dp.create_auto_cdc_flow`` as shipped with pyspark."""
        def names(cols: Any) -> list[str] | None:
            return None if cols is None else [cdc.column_name(c) for c in cols]

        self.register_cdc(cdc.CdcSpec(
            target=flow.target, source=flow.source, keys=names(flow.keys) or [], sequence_by=flow.sequence_by,
            apply_as_deletes=flow.apply_as_deletes, column_list=names(flow.column_list),
            except_column_list=names(flow.except_column_list), scd_type=int(flow.stored_as_scd_type or 1),
            track_history_column_list=names(flow.track_history_column_list),
            track_history_except_column_list=names(flow.track_history_except_column_list),
        ), flow.name or flow.target, flow.source_code_location, flow.spark_conf)

    def register_cdc(self, spec: cdc.CdcSpec, name: str, location: SourceCodeLocation,
                     spark_conf: dict[str, str] | None = None, once: bool = False) -> None:
        """AUTO CDC through the local fallback: the change events are captured exactly once into a
        streaming table, and the target is recomputed from them (see :mod:`palindrom.runtime.cdc`)."""
        if spec.target in self._cdc.values():
            raise PipelineGraphError(f"AUTO CDC target '{spec.target}' has more than one CDC flow ({name}); "
                                     "a CDC target takes exactly one (AUTOCDC_MULTIPLE_FLOWS_TO_TARGET).")
        spark, conf = self._spark, spark_conf or {}
        self._outputs.setdefault(spec.staging_table, StreamingTable(
            name=spec.staging_table, comment=f"Change events captured for {spec.target}",
            source_code_location=location, table_properties={}, partition_cols=None, cluster_by=None,
            schema=None, format=None))
        self._flows.append(Flow(name=spec.staging_table, target=spec.staging_table, spark_conf=conf,
                                source_code_location=location, func=lambda: spec.capture(spark)))
        self._flows.append(Flow(name=name, target=spec.target, spark_conf=conf, source_code_location=location,
                                func=lambda: spec.apply(spark)))
        self._cdc[name] = spec.target
        if once:
            self._once.add(spec.staging_table)

    def register_snapshot_cdc(self, spec: snapshots_cdc.SnapshotSpec, name: str, location: SourceCodeLocation,
                              once: bool = False) -> None:
        """AUTO CDC FROM SNAPSHOT: this update's snapshots are staged, the target recomputed from them."""
        if spec.target in self._cdc.values():
            raise PipelineGraphError(f"'{spec.target}' already has a CDC flow; a target takes exactly one.")
        spark, staging = self._spark, spec.staging_table
        self._outputs.setdefault(staging, StreamingTable(
            name=staging, comment=f"Snapshots staged for {spec.target}", source_code_location=location,
            table_properties={}, partition_cols=None, cluster_by=None, schema=None, format=None))
        latest = self._latest_snapshot_version(staging)
        snapshots = spec.new_snapshots(spark, latest, self._update_started)
        if snapshots is not None:
            self._feeds[staging] = True
            self._flows.append(Flow(name=staging, target=staging, spark_conf={}, source_code_location=location,
                                    func=lambda: snapshots))
        elif latest is None:
            raise PipelineGraphError(f"The snapshot function of '{spec.target}' returned no snapshot: there is "
                                     "nothing to build the table from yet.")
        else:
            self._feeds[staging] = False  # nothing new: the staged snapshots stay as they are
            self._flows.append(Flow(name=staging, target=staging, spark_conf={}, source_code_location=location,
                                    func=lambda: spark.read.table(staging)))
        self._flows.append(Flow(name=name, target=spec.target, spark_conf={}, source_code_location=location,
                                func=lambda: spec.apply(spark)))
        self._cdc[name] = spec.target
        if once:
            self._once.add(staging)

    def _latest_snapshot_version(self, staging: str) -> Any:
        table = f"`{self._database}`.`{staging}`"
        if not self._spark.catalog.tableExists(table):
            return None
        return self._spark.read.table(table).agg(F.max(snapshots_cdc.VERSION)).collect()[0][0]

    def register_sink(self, name: str, format: str, options: dict[str, str], location: SourceCodeLocation) -> None:
        """``create_sink``: Delta and Kafka sinks write local Parquet folders tests can read
        (``<storage>/pipelines/<pipeline>/sinks/<name>``); other formats are Spark's own."""
        kind = format.lower()
        folder = self._state_dir / "sinks" / name
        options = {k: (self._local_path(v) if k.lower() == "path" else v) for k, v in options.items()}
        if kind == "delta":
            options = {k: v for k, v in options.items() if k.lower() != "tablename"}
            options.setdefault("path", str(folder))
            format = sparkext.TABLE_FORMAT
            self.notice(f"Delta sink '{name}' writes Parquet to {options['path']} locally.")
        elif kind == "kafka":
            options = {"path": str(folder)}
            format = sparkext.TABLE_FORMAT
            self.notice(f"Kafka sink '{name}' writes its records (key, value, ...) as Parquet to {folder} locally.")
        self.register_output(Sink(name=name, format=format, options=options, source_code_location=location,
                                  comment=None))

    def register_foreach_batch_sink(self, name: str, handler: Callable[[DataFrame, int], None],
                                    location: SourceCodeLocation) -> None:
        """``@dp.foreach_batch_sink``: flows into it run as streams handing each micro-batch to ``handler``."""
        if name in self._outputs or name in self._batch_sinks:
            raise PipelineGraphError(f"Sink '{name}' ({location.filename}:{location.line_number}) is defined twice.")
        self._batch_sinks[name] = handler

    def register_sql(self, sql_text: str, file_path: Path) -> None:
        self._sql.append((sql_text, file_path))

    def add_table_expectations(self, table: str, rules: list[expectations.Expectation]) -> None:
        self._table_expectations.setdefault(table, []).extend(rules)

    def mark_once(self, flow_name: str) -> None:
        self._once.add(flow_name)

    def mark_private(self, dataset: str) -> None:
        self._private.add(dataset)

    def notice(self, message: str) -> None:
        if message not in self.info.notices:
            self.info.notices.append(message)

    # -- names -----------------------------------------------------------------------------------
    def _local_identifier(self, identifier: str) -> str | None:
        """A table name as the local catalog knows it: without Databricks's ``LIVE.`` prefix, and
        with a Unity Catalog catalog name mapped to the one local catalog. None when unchanged."""
        parts = [p.strip("`") for p in sqltext.split_identifier(identifier)]
        changed = False
        if len(parts) > 1 and parts[0].lower() == "live":
            parts, changed = parts[1:], True
        if len(parts) == 3 and parts[0].lower() != "spark_catalog":
            parts, changed = ["spark_catalog", *parts[1:]], True
        name = self._dataset_name(".".join(f"`{p}`" for p in parts), normalized=True)
        if name is not None and name in self._private:
            return f"`{private_schema(self._database)}`.`{name}`"
        return ".".join(f"`{p}`" for p in parts) if changed else None

    def _dataset_name(self, identifier: str, normalized: bool = False) -> str | None:
        """The graph dataset a table read refers to, or None when it reads something else."""
        local = identifier if normalized else (self._local_identifier(identifier) or identifier)
        parts = [p.strip("`") for p in sqltext.split_identifier(local)]
        if len(parts) == 3 and parts[0].lower() == "spark_catalog":
            parts = parts[1:]
        if len(parts) == 2 and parts[0].lower() in (self._database.lower(), private_schema(self._database).lower()):
            parts = parts[1:]
        name = ".".join(parts)
        return name if name in self._outputs else None

    # -- resolution ------------------------------------------------------------------------------
    def _definition(self, flow: Flow) -> _Definition:
        """The flow's query, computed once (and on demand, so dependencies go first)."""
        if flow.name in self._definitions:
            return self._definitions[flow.name]
        if flow.name in self._defining:
            chain = " -> ".join([*self._defining[self._defining.index(flow.name):], flow.name])
            raise PipelineGraphError(f"The query functions depend on each other in a cycle: {chain}.")
        self._defining.append(flow.name)
        try:
            with add_pipeline_analysis_context(
                spark=self._spark, dataflow_graph_id=self._dataflow_graph_id, flow_name=flow.name
            ):
                df = flow.func()
            if not isinstance(df, DataFrame):
                raise TypeError(f"The query function of '{flow.name}' ({_location(flow)}) returned "
                                f"{type(df).__name__}, not a DataFrame.")
            relation = cast(Any, df)._plan.plan(self._client)
            exps = expectations.of(flow.func) + self._table_expectations.get(flow.target, [])
            definition = _Definition(df, relation, plan.is_streaming(relation), exps, plan.read_names(relation))
        finally:
            self._defining.pop()
        self._definitions[flow.name] = definition
        return definition

    def _dataset_schema(self, identifier: str) -> T.StructType | None:
        name = self._dataset_name(identifier)
        if name is None:
            return None
        if name in self._schemas:
            return self._schemas[name]
        if name in self._resolving:
            raise PipelineGraphError(f"Dataset '{name}' reads itself: "
                                     f"{' -> '.join([*self._resolving, name])}.")
        self._resolving.append(name)
        try:
            output = self._outputs[name]
            given = getattr(output, "schema", None)
            if given is not None:
                schema = given if isinstance(given, T.StructType) else self._resolver.parse_ddl(str(given))
            else:
                flows = [f for f in self._flows if f.target == name]
                if not flows:
                    raise PipelineGraphError(f"Dataset '{name}' ({_location(output)}) has no flow: define its "
                                             "query, or add an append_flow / apply_changes that writes to it.")
                schemas = [self._resolver.schema(self._definition(f).relation) for f in flows]
                schema = _merged(schemas)
        finally:
            self._resolving.pop()
        self._schemas[name] = schema
        return schema

    def _prepare(self, relation: Any, flow_name: str, wants_metadata: bool) -> None:
        """What every relation goes through before the server sees it (to run, or to analyse)."""
        self._source_mocks.replace(relation)
        plan.redirect_table_reads(relation, lambda identifier, _: self._local_identifier(identifier))
        for sql in plan.sql_relations(relation):
            sql.query = sqltext.map_table_references(sqltext.without_live(sql.query), self._local_identifier)
        if self._local_paths:
            plan.rewrite_paths(relation, self._local_path)
            for sql in plan.sql_relations(relation):
                sql.query = sqltext.map_file_paths(sql.query, self._local_path)
        try:
            plan.rewrite_format_reads(relation, "delta", _read_delta_files)
        except (PipelineGraphError, delta_log.DeltaTableError) as exc:
            flow = next((f for f in self._flows if f.name == flow_name), None)
            where = f" (flow '{flow_name}', {_location(flow)})" if flow is not None else ""
            raise PipelineGraphError(f"{exc}{where}") from exc
        self._inject_cloud_files_options(flow_name, relation, wants_metadata)

    def _local_path(self, path: str) -> str:
        for prefix, local in self._local_paths:
            if path.startswith(prefix):
                return local.rstrip("/") + "/" + path[len(prefix):].lstrip("/")
        return path

    def _prepare_for_analysis(self, relation: Any) -> None:
        flow = self._defining[-1] if self._defining else "analysis"
        self._prepare(relation, flow, self._wants_metadata or plan.references_column(relation, METADATA_COLUMN))

    # -- flushing --------------------------------------------------------------------------------
    def flush(self) -> GraphInfo:
        with self._resolver.installed():
            self._apply_substitutes()
            for flow in list(self._flows):
                self._definition(flow)
        definitions = [self._definitions[f.name] for f in self._flows]
        self._check_source_mocks(definitions)
        # `_metadata` is a hidden column on Databricks; locally the cloudFiles source adds it as a
        # real column, to every cloudFiles read of the pipeline once any flow refers to it (the
        # reference is often in a flow downstream of the view that reads the files).
        self._wants_metadata = any(plan.references_column(d.relation, METADATA_COLUMN) for d in definitions)
        for name, output in self._outputs.items():
            self._send_output(self._stored(name, output))
        for flow in self._flows:
            if flow.target in self._batch_sinks:
                self._keep_batch_sink_flow(flow)
            else:
                self._send_user_flow(flow)
        for name, info in self.info.flows.items():
            if name in self._definitions:
                info.sources = plan.external_sources(self._definitions[name].relation)
        for sql_text, path in self._sql:
            super().register_sql(sql_text, path)
        return self.info

    def _apply_substitutes(self) -> None:
        """Each substituted dataset (or flow) gets one flow reading what its substitute returns,
        shaped by the schema and streaming-ness of the query it replaces. Other names are sources
        the flows read (a Kafka topic, a table outside the pipeline): replaced where they are read
        (``runtime/source_mocks.py``)."""
        for name, substitute in self._substitutes.items():
            if self._source_mocks.is_source(name):
                continue
            is_dataset = name in self._outputs
            flows = [f for f in self._flows if (f.target if is_dataset else f.name) == name]
            output = self._outputs.get(flows[0].target if flows else name)
            try:
                schema = self._dataset_schema(name) if is_dataset else \
                    self._resolver.schema(self._definition(flows[0]).relation)
                streaming = any(self._definition(f).streaming for f in flows)
            except Exception:  # not analysable here (no files yet, no broker): the mock's own columns
                schema, streaming = None, not isinstance(output, MaterializedView)
            frame = substitute(self._spark, schema, streaming)
            first = self._flows.index(flows[0]) if flows else len(self._flows)
            replacement = Flow(name=name if is_dataset else flows[0].name, target=flows[0].target if flows else name,
                               func=_constant(frame), spark_conf={},
                               source_code_location=flows[0].source_code_location if flows
                               else cast(Output, output).source_code_location)
            self._flows = [f for f in self._flows[:first] if f not in flows] + [replacement] + \
                [f for f in self._flows[first:] if f not in flows]
            # What was resolved so far may have read the replaced query: resolve again.
            self._definitions.clear()
            self._schemas.clear()

    def _is_pipeline_name(self, name: str) -> bool:
        return name in self._outputs or any(f.name == name for f in self._flows)

    def _check_source_mocks(self, definitions: list[_Definition]) -> None:
        """A source mock that no flow reads is a mistake in the test: say what the flows do read."""
        unused, read = self._source_mocks.unused([d.relation for d in definitions])
        if not unused:
            return
        datasets = ", ".join(sorted(n for n in self._outputs if not is_internal(n)))
        flow_names = ", ".join(sorted(f.name for f in self._flows if not is_internal(f.name)))
        in_sql = sorted({n for d in definitions for s in plan.sql_relations(d.relation)
                         for n in sqltext.table_references(s.query)} - set(self._outputs))
        outside = [n for n in read if n not in {m.lower() for m in self._outputs}]
        hint = f"; read in SQL text (mock the dataset that reads it instead): {', '.join(in_sql)}" if in_sql else ""
        raise PipelineGraphError(
            f"{', '.join(repr(n) for n in unused)} is neither a dataset nor a flow of this pipeline, nor a "
            f"source one of its flows reads. Its datasets: {datasets}; its flows: {flow_names}; sources read "
            f"(a table by name, kafka:<topic>): {', '.join(outside) or 'none'}{hint}.")

    def _stored(self, name: str, output: Output) -> Output:
        """How ``output`` is registered: its kind (see the module docstring) and storage format."""
        if isinstance(output, TemporaryView):
            self.info.outputs[name] = "view"
            return output
        if isinstance(output, Sink):
            self.info.outputs[name] = "sink"
            return output
        table = cast(Table, output)
        if table.comment:
            self.info.comments[name] = table.comment
        if table.format not in _USER_FORMATS:
            raise PipelineGraphError(f"Table '{name}' ({_location(table)}) asks for format '{table.format}'; "
                                     "pipeline tables are Delta on Databricks and Parquet locally.")
        fields = {f.name: getattr(table, f.name) for f in dataclasses.fields(Table)}
        fields.update(format=sparkext.TABLE_FORMAT)
        if name in self._private:
            self.info.private.add(name)
            fields.update(name=self._stored_name(name))
        if self._is_materialized_view(name, table):
            self.info.outputs[name] = "materialized_view"
            return MaterializedView(**fields)
        self.info.outputs[name] = "streaming_table"
        return StreamingTable(**fields)

    def _stored_name(self, name: str) -> str:
        """Private datasets live in the private schema; the graph knows them by that name."""
        return f"{private_schema(self._database)}.{name}" if name in self._private else name

    def _is_materialized_view(self, name: str, table: Table) -> bool:
        if isinstance(table, MaterializedView) or name in self._cdc.values():
            return True
        own = [f for f in self._flows if f.target == name]
        recomputed = [f for f in own if plan.aggregates_without_watermark(self._definitions[f.name].relation)]
        if recomputed and len(recomputed) != len(own):
            raise PipelineGraphError(f"Streaming table '{name}' mixes a streaming aggregation without a "
                                     "watermark with other flows; give the aggregation a watermark.")
        for flow in recomputed:
            self._definitions[flow.name].streaming = False
            self._definitions[flow.name].recomputed = True
        if recomputed:
            self.notice(f"'{name}' aggregates a stream without a watermark: it is recomputed from all its input "
                        "at every update, as on Databricks (add a watermark to process it incrementally).")
        return bool(own) and not any(self._definitions[f.name].streaming or self._is_feed(f.name) for f in own)

    def _is_feed(self, flow_name: str) -> bool:
        return flow_name in self._once or flow_name in self._feeds

    def _held(self, flow_name: str) -> bool:
        """A feed not to run in this update: a once flow that has run, snapshots with nothing new."""
        return flow_name in self._once_done if flow_name in self._once else self._feeds.get(flow_name) is False

    def _send_user_flow(self, flow: Flow) -> None:
        definition = self._definitions[flow.name]
        frame, streaming, exps = definition.frame, definition.streaming, definition.expectations
        if self._is_feed(flow.name) and self._held(flow.name):
            self.info.flows[flow.name] = FlowInfo(flow.name, flow.target, True, _location(flow), exps, None,
                                                  definition.inputs, FEED_PREFIX + flow.name, flow.name in self._once,
                                                  held=True)
            return
        feed = self._send_feed(flow, definition) if self._is_feed(flow.name) else None
        if feed is not None:
            frame, streaming = self._spark.readStream.table(feed), True
        if exps and streaming:
            frame = frame.observe(QUALITY_METRIC_PREFIX + flow.name, *expectations.metric_columns(exps))
        frame = expectations.apply(frame, exps, flow.target)
        if self._hides_metadata(flow, definition):
            frame = frame.drop(METADATA_COLUMN)
        frame = self._partition_columns_last(flow.target, frame)
        schema = self._flow_schema(definition)
        rescue = None if schema is None else next((c for c in RESCUE_COLUMNS if c in schema.names), None)
        if streaming:
            counts = [F.count(F.lit(1)).alias("rows")]
            if rescue is not None:
                counts.append(F.count_if(F.col(f"`{rescue}`").isNotNull()).alias("rescued"))
            frame = frame.observe(ROWS_METRIC_PREFIX + flow.name, *counts)
        relation = cast(Any, frame)._plan.plan(self._client)
        if definition.recomputed:
            plan.to_batch(relation)
        self._prepare(relation, flow.name, self._wants_metadata)
        self._send_flow(flow.name, self._stored_name(flow.target), relation, flow.spark_conf,
                        flow.source_code_location)
        quality_table = self._send_quality_counter(flow, exps) if exps and not streaming else None
        self.info.flows[flow.name] = FlowInfo(flow.name, flow.target, streaming, _location(flow), exps, quality_table,
                                              definition.inputs, feed, flow.name in self._once, rescue_column=rescue,
                                              schema=schema)

    def _flow_schema(self, definition: _Definition) -> T.StructType | None:
        """The flow's own output columns (an append flow may lack a column its target has), before
        expectations; None when they cannot be resolved here (the flow's run reports the error)."""
        try:
            return self._resolver.schema(definition.relation)
        except Exception:  # analysed again when the flow runs, which reports the error itself
            return None

    def _hides_metadata(self, flow: Flow, definition: _Definition) -> bool:
        """On Databricks ``_metadata`` is a hidden column: ``*`` does not select it, so a table
        written from ``SELECT *, _metadata.file_name`` has no ``_metadata`` column. Locally the file
        source adds it as a real column when the pipeline refers to it; tables (not views, whose
        readers may still refer to it) leave it out unless the query selects it by name."""
        output = self._outputs.get(flow.target)
        return self._wants_metadata and output is not None and not isinstance(output, TemporaryView) \
            and not plan.selects_whole_column(definition.relation, METADATA_COLUMN)

    def _partition_columns_last(self, target: str, frame: DataFrame) -> DataFrame:
        """Spark stores a partitioned table's partition columns after the others (a table declared
        otherwise is refused as corrupted); Delta keeps the query's order. Locally the flow's
        columns are reordered to put the partition columns last, in their declared order."""
        partitions = list(getattr(self._outputs.get(target), "partition_cols", None) or [])
        if not partitions:
            return frame
        names = self._resolver.schema(cast(Any, frame)._plan.plan(self._client)).names
        lowered = {p.lower() for p in partitions}
        if [n.lower() for n in names[-len(partitions):]] == [p.lower() for p in partitions]:
            return frame
        ordered = [n for n in names if n.lower() not in lowered] + partitions
        return frame.select(*[F.col(f"`{n}`") for n in ordered])

    def _keep_batch_sink_flow(self, flow: Flow) -> None:
        definition = self._definitions[flow.name]
        if not definition.streaming:
            raise PipelineGraphError(f"Flow '{flow.name}' ({_location(flow)}) writes to foreach_batch_sink "
                                     f"'{flow.target}' and must read a stream.")
        relation = cast(Any, definition.frame)._plan.plan(self._client)
        self._prepare(relation, flow.name, self._wants_metadata)
        self.info.batch_sinks.append(BatchSinkFlow(flow.name, flow.target, relation.SerializeToString(),
                                                   self._batch_sinks[flow.target]))
        self.info.outputs.setdefault(flow.target, "sink")
        self.info.flows[flow.name] = FlowInfo(flow.name, flow.target, True, _location(flow), [], None,
                                              definition.inputs)

    def _send_feed(self, flow: Flow, definition: _Definition) -> str:
        """A batch query that appends to a streaming table (a once flow, this update's snapshots) is
        computed into a hidden table, which the flow streams into its target: each computation's
        rows are appended exactly once. The runner leaves the hidden table out of the updates that
        must not recompute it (a once flow after its first run)."""
        hidden = FEED_PREFIX + flow.name
        self.info.outputs[hidden] = "materialized_view"
        self._send_output(MaterializedView(
            name=hidden, comment=f"Batch input of flow {flow.name}", source_code_location=flow.source_code_location,
            table_properties={}, partition_cols=None, cluster_by=None, schema=None, format=sparkext.TABLE_FORMAT))
        relation = cast(Any, definition.frame)._plan.plan(self._client)
        plan.to_batch(relation)
        self._prepare(relation, hidden, self._wants_metadata)
        self._send_flow(hidden, hidden, relation, flow.spark_conf, flow.source_code_location)
        return hidden

    def _send_quality_counter(self, flow: Flow, exps: list[expectations.Expectation]) -> str:
        """Batch flows report no observed metrics, so a hidden materialized view aggregates the same
        input (the flow's query before its expectations) in the same update."""
        name = QUALITY_TABLE_PREFIX + flow.name
        self.info.outputs[name] = "materialized_view"
        self._send_output(MaterializedView(
            name=name, comment=f"Expectation counts of flow {flow.name} (local runtime)",
            source_code_location=flow.source_code_location, table_properties={}, partition_cols=None,
            cluster_by=None, schema=None, format=sparkext.TABLE_FORMAT))
        counts = self._definitions[flow.name].frame.agg(*expectations.metric_columns(exps))
        relation = cast(Any, counts)._plan.plan(self._client)
        if self._definitions[flow.name].recomputed:
            plan.to_batch(relation)
        self._prepare(relation, name, self._wants_metadata)
        self._send_flow(name, name, relation, flow.spark_conf, flow.source_code_location)
        return name

    def _inject_cloud_files_options(self, flow_name: str, relation: Any, wants_metadata: bool) -> None:
        """State and schema locations for each cloudFiles read, keyed by the flow and what it reads
        (so the same read gets the same locations wherever in a plan it appears)."""
        seen: Counter[str] = Counter()

        def set_options(source: Any) -> None:
            options = source.options
            for path in list(source.paths):
                root = Path(split_glob(path.removeprefix("file:"))[0])
                if root.is_file():  # Auto Loader would list nothing and the update would succeed empty
                    raise PipelineGraphError(
                        f"Flow '{flow_name}' reads cloudFiles from {path}, which is a file: Auto Loader reads "
                        f"the files of a directory. Load {root.parent} instead (with pathGlobFilter "
                        f"'{root.name}' to read only that file).")
            if source.HasField("schema") and source.schema:
                # Our source adds the rescued-data and _metadata columns to a given schema, so it
                # must receive the schema as an option rather than as the fixed output schema.
                options["cloudFiles.userSchema"] = source.schema
                source.ClearField("schema")
            identity = json.dumps({k.lower(): v for k, v in sorted(options.items())
                                   if k.lower() not in ("cloudfiles.statelocation", "cloudfiles.schemalocation",
                                                        "cloudfiles.includemetadatacolumn")}, sort_keys=True)
            key = hashlib.sha256(identity.encode()).hexdigest()[:12]
            seen[key] += 1
            base = self._state_dir / "autoloader" / flow_name / f"{key}-{seen[key]}"
            for option, value in (("cloudFiles.stateLocation", base / "state"),
                                  ("cloudFiles.schemaLocation", base / "schema")):
                if option not in options:
                    options[option] = str(value)
            if wants_metadata:
                options["cloudFiles.includeMetadataColumn"] = "true"

        plan.rewrite_cloud_files_reads(relation, set_options)

    def _send_output(self, output: Output) -> None:
        super().register_output(output)

    def _send_flow(self, name: str, target: str, relation: Any, spark_conf: dict[str, str],
                   location: Any) -> None:
        plan.defer_eager(relation)
        command = pb2.Command()
        command.pipeline_command.define_flow.CopyFrom(pb2.PipelineCommand.DefineFlow(
            dataflow_graph_id=self._dataflow_graph_id,
            flow_name=name,
            target_dataset_name=target,
            relation_flow_details=pb2.PipelineCommand.DefineFlow.WriteRelationFlowDetails(relation=relation),
            sql_conf=spark_conf,
            source_code_location=source_code_location_to_proto(location),
        ))
        self._client.execute_command(command)


def _constant(frame: DataFrame) -> Callable[[], DataFrame]:
    return lambda: frame


_LIBRARIES = (str(Path(pyspark.__file__).parent), str(Path(__file__).resolve().parents[1]))


def _user_location(location: SourceCodeLocation) -> SourceCodeLocation:
    """Where the pipeline's own code declared something: the innermost frame outside pyspark and
    this package, when the API call came through a wrapper (the local ``dlt`` module, guards)."""
    if not str(Path(location.filename).resolve()).startswith(_LIBRARIES):
        return location
    for frame in inspect.stack()[1:]:
        if not str(Path(frame.filename).resolve()).startswith(_LIBRARIES) and not frame.filename.startswith("<"):
            return SourceCodeLocation(filename=frame.filename, line_number=frame.lineno)
    return location


def _read_delta_files(source: Any, streaming: bool) -> None:
    """``format("delta").load(path)`` of a table outside the pipeline: a Parquet read of the files
    its log says are current, with the schema its log declares (``palindrom.delta.log``)."""
    paths = list(source.paths) or [v for k, v in source.options.items() if k.lower() == "path"]
    if streaming:
        raise PipelineGraphError(
            f"A streaming read of the Delta table at {paths[0] if paths else '?'} (readStream.format('delta')."
            "load(path)) is not supported locally: the local runtime reads Delta tables outside the pipeline "
            "only as a snapshot. Read it with spark.read (a materialized view), or land its changes as "
            "files and stream them with Auto Loader (cloudFiles).")
    if len(paths) != 1:
        raise PipelineGraphError(f"A Delta read takes one table path; got {paths or 'none'}.")
    table = Path(paths[0].removeprefix("file:").removeprefix("//"))
    found = delta_log.snapshot(table)
    source.format = "parquet"
    del source.paths[:]
    source.paths.extend(found.files)
    for key in [k for k in source.options if k.lower() in ("path", "versionasof", "timestampasof")]:
        if key.lower() != "path":
            raise PipelineGraphError(f"Delta time travel ({key}) is not supported locally: {table} is read at its "
                                     "latest version.")
        del source.options[key]
    source.options["basePath"] = str(table)
    source.schema = found.schema_json


def _merged(schemas: list[T.StructType]) -> T.StructType:
    """The schema of a table several flows write: every flow's columns, in first-seen order."""
    fields: dict[str, T.StructField] = {}
    for schema in schemas:
        for f in schema.fields:
            fields.setdefault(f.name.lower(), T.StructField(f.name, f.dataType, True))
    return T.StructType(list(fields.values()))
