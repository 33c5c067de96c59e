"""A graph element registry that gives open-source SDP Databricks's semantics.

Pipeline files register outputs and flows through ``pyspark.pipelines`` (directly, or through the
local ``dlt`` module). This registry buffers them until every file has loaded, then registers a
rewritten graph with the Spark Connect server:

* a table whose only flow is a batch query becomes a materialized view (``@dlt.table`` over a
  batch DataFrame is a materialized view on Databricks; open-source ``@dp.table`` always makes a
  streaming table);
* expectations attached to a query function or a streaming table are applied to its flows;
* every streaming flow counts its output rows with ``observe`` so the runner can report them;
* ``cloudFiles`` reads get the state and schema locations of this pipeline's storage;
* AUTO CDC flows run through the local fallback in :mod:`palindrom.runtime.cdc`;
* reads of the pipeline's own tables go through hidden views (see ``_hidden_view_for``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pyspark.sql.connect.proto as pb2
from pyspark.pipelines.add_pipeline_analysis_context import add_pipeline_analysis_context
from pyspark.pipelines.flow import AutoCdcFlow, Flow
from pyspark.pipelines.output import MaterializedView, Output, StreamingTable, Table, TemporaryView
from pyspark.pipelines.spark_connect_graph_element_registry import (
    SparkConnectGraphElementRegistry,
    source_code_location_to_proto,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from palindrom.runtime import cdc, expectations, plan

ROWS_METRIC_PREFIX = "palindrom_rows:"
QUALITY_METRIC_PREFIX = "palindrom_dq:"
QUALITY_TABLE_PREFIX = "_palindrom_dq_"
HIDDEN_PREFIX = "__palindrom_ref_"


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


@dataclass
class GraphInfo:
    flows: dict[str, FlowInfo] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # name -> kind
    notices: list[str] = field(default_factory=list)


def is_internal(name: str) -> bool:
    """Datasets the local runtime adds (hidden reads, expectation counters), not the user's."""
    short = name.rsplit(".", 1)[-1].strip("`")
    return short.startswith((HIDDEN_PREFIX, QUALITY_TABLE_PREFIX))


def _location(obj: Any) -> str:
    loc = obj.source_code_location
    return f"{loc.filename}:{loc.line_number}"


class LocalGraphRegistry(SparkConnectGraphElementRegistry):
    def __init__(self, spark: SparkSession, dataflow_graph_id: str, state_dir: Path) -> None:
        super().__init__(spark, dataflow_graph_id)
        self._state_dir = state_dir
        self._outputs: dict[str, Output] = {}
        self._flows: list[Flow] = []
        self._cdc_flows: list[AutoCdcFlow] = []
        self._sql: list[tuple[str, Path]] = []
        self._table_expectations: dict[str, list[expectations.Expectation]] = {}
        self._wants_metadata = False
        self._hidden_views: dict[str, tuple[str, bool]] = {}  # view -> (table, streaming)
        self._inputs: dict[str, list[str]] = {}
        self.info = GraphInfo()

    # -- buffering -------------------------------------------------------------------------------
    def register_output(self, output: Output) -> None:
        if output.name in self._outputs:
            raise ValueError(f"Dataset '{output.name}' is defined twice ({_location(output)} and "
                             f"{_location(self._outputs[output.name])}).")
        self._outputs[output.name] = output

    def register_flow(self, flow: Flow) -> None:
        self._flows.append(flow)

    def register_auto_cdc_flow(self, flow: AutoCdcFlow) -> None:
        self._cdc_flows.append(flow)
        # The fallback captures the change events in a streaming table of the graph (see cdc.py).
        staging = flow.target + cdc.STAGING_SUFFIX
        self._outputs.setdefault(staging, StreamingTable(
            name=staging, comment=f"Change events captured for {flow.target}",
            source_code_location=flow.source_code_location, table_properties={}, partition_cols=None,
            cluster_by=None, schema=None, format=None))

    def register_sql(self, sql_text: str, file_path: Path) -> None:
        self._sql.append((sql_text, file_path))

    def add_table_expectations(self, table: str, rules: list[expectations.Expectation]) -> None:
        self._table_expectations.setdefault(table, []).extend(rules)

    def notice(self, message: str) -> None:
        if message not in self.info.notices:
            self.info.notices.append(message)

    # -- flushing --------------------------------------------------------------------------------
    def flush(self) -> GraphInfo:
        relations = {id(flow): self._relation(flow) for flow in self._flows}
        # `_metadata` is a hidden column on Databricks; locally the cloudFiles source adds it as a
        # real column, to every cloudFiles read of the pipeline once any flow refers to it (the
        # reference is often in a flow downstream of the view that reads the files).
        self._wants_metadata = any(plan.references_column(r[0], "_metadata") for r in relations.values())
        for flow in self._flows:
            self._inject_cloud_files_options(flow.name, relations[id(flow)][0])
        cdc_specs = [self._cdc_spec(flow) for flow in self._cdc_flows]
        cdc_targets = {spec.target for spec in cdc_specs}
        for name, output in self._outputs.items():
            self._send_output(self._resolve_kind(name, output, relations, cdc_targets))
        for flow in self._flows:
            relation, streaming, exps = relations[id(flow)]
            self._send_flow(flow.name, flow.target, relation, flow.spark_conf, flow.source_code_location)
            quality_table = self._send_quality_counter(flow, exps) if exps and not streaming else None
            self.info.flows[flow.name] = FlowInfo(flow.name, flow.target, streaming, _location(flow), exps,
                                                  quality_table, self._inputs.get(flow.name, []))
        for cdc_flow, spec in zip(self._cdc_flows, cdc_specs, strict=True):
            self._send_cdc(cdc_flow, spec)
        self._send_hidden_views()
        for sql_text, path in self._sql:
            super().register_sql(sql_text, path)
        return self.info

    def _resolve_kind(self, name: str, output: Output, relations: dict[int, Any],
                      cdc_targets: set[str]) -> Output:
        if not isinstance(output, Table) or isinstance(output, MaterializedView):
            self.info.outputs[name] = "view" if not isinstance(output, Table) else "materialized_view"
            return output
        own_flows = [f for f in self._flows if f.target == name]
        batch_only = bool(own_flows) and all(not relations[id(f)][1] for f in own_flows)
        if name in cdc_targets or batch_only:
            self.info.outputs[name] = "materialized_view"
            if name in cdc_targets:
                self.notice(f"AUTO CDC into '{name}' runs through the local fallback: changes are "
                            f"captured in '{name}{cdc.STAGING_SUFFIX}' and '{name}' is recomputed.")
            fields = {f.name: getattr(output, f.name) for f in dataclasses.fields(Table)}
            return MaterializedView(**fields)
        self.info.outputs[name] = "streaming_table"
        return output

    def _relation(self, flow: Flow) -> tuple[Any, bool, list[expectations.Expectation]]:
        exps = expectations.of(flow.func) + self._table_expectations.get(flow.target, [])
        with add_pipeline_analysis_context(
            spark=self._spark, dataflow_graph_id=self._dataflow_graph_id, flow_name=flow.name
        ):
            df = flow.func()
            if not isinstance(df, DataFrame):
                raise TypeError(f"The query function of '{flow.name}' ({_location(flow)}) returned "
                                f"{type(df).__name__}, not a DataFrame.")
            streaming = plan.is_streaming(cast(Any, df)._plan.plan(self._client))
            if exps and streaming:
                df = df.observe(QUALITY_METRIC_PREFIX + flow.name, *expectations.metric_columns(exps))
            df = expectations.apply(df, exps, flow.target)
            if streaming:
                df = df.observe(ROWS_METRIC_PREFIX + flow.name, F.count(F.lit(1)).alias("rows"))
        relation = cast(Any, df)._plan.plan(self._client)
        self._inputs[flow.name] = plan.read_names(relation)
        plan.rewrite_drops(relation)
        plan.redirect_table_reads(relation, self._hidden_view_for)
        return relation, streaming, exps

    # Spark Connect's planner analyses some operations eagerly when a flow is defined
    # (withColumnRenamed, dropDuplicates, toDF, unpivot, na.*, ...). Over a read of a table that
    # already exists in the catalog, that analysis binds the physical table instead of the graph
    # dataset, so the flow loses its dependency and may run while the table is being rewritten
    # (measured: a materialized view read an empty upstream table on the second run). A temporary
    # view is never in the catalog, so reads through one always resolve inside the graph.
    def _hidden_view_for(self, identifier: str, streaming: bool) -> str | None:
        name = identifier.strip("`")
        if name.startswith(HIDDEN_PREFIX):
            return None
        if not isinstance(self._outputs.get(name), Table):
            return None
        view = f"{HIDDEN_PREFIX}{'stream_' if streaming else ''}{name}"
        self._hidden_views[view] = (name, streaming)
        return view

    def _send_hidden_views(self) -> None:
        spark = self._spark
        for view, (table, streaming) in sorted(self._hidden_views.items()):
            location = self._outputs[table].source_code_location
            self._send_output(TemporaryView(name=view, comment=f"Graph-bound read of {table}",
                                            source_code_location=location))
            reader = spark.readStream if streaming else spark.read
            with add_pipeline_analysis_context(
                spark=spark, dataflow_graph_id=self._dataflow_graph_id, flow_name=view
            ):
                relation = cast(Any, reader.table(table))._plan.plan(self._client)
            self._send_flow(view, view, relation, {}, location)

    def _send_quality_counter(self, flow: Flow, exps: list[expectations.Expectation]) -> str:
        """Batch flows report no observed metrics, so a hidden materialized view aggregates the same
        input (the flow's query before its expectations) in the same update."""
        name = QUALITY_TABLE_PREFIX + flow.name
        self._send_output(MaterializedView(
            name=name, comment=f"Expectation counts of flow {flow.name} (local runtime)",
            source_code_location=flow.source_code_location, table_properties={}, partition_cols=None,
            cluster_by=None, schema=None, format=None))
        counter = Flow(name=name, target=name, spark_conf=flow.spark_conf,
                       source_code_location=flow.source_code_location,
                       func=lambda: flow.func().agg(*expectations.metric_columns(exps)))
        relation, _, _ = self._relation(counter)
        self._send_flow(name, name, relation, flow.spark_conf, flow.source_code_location)
        return name

    def _inject_cloud_files_options(self, flow_name: str, relation: Any) -> None:
        wants_metadata = self._wants_metadata
        counter = iter(range(1_000))

        def set_options(source: Any) -> None:
            options = source.options
            if source.HasField("schema") and source.schema:
                # Our source adds the rescued-data and _metadata columns to a given schema, so it
                # must receive the schema as an option rather than as the fixed output schema.
                options["cloudFiles.userSchema"] = source.schema
                source.ClearField("schema")
            base = self._state_dir / "autoloader" / flow_name / str(next(counter))
            for key, value in (("cloudFiles.stateLocation", base / "state"),
                               ("cloudFiles.schemaLocation", base / "schema")):
                if key not in options:
                    options[key] = str(value)
            if wants_metadata:
                options["cloudFiles.includeMetadataColumn"] = "true"

        plan.rewrite_cloud_files_reads(relation, set_options)

    def _send_output(self, output: Output) -> None:
        super().register_output(output)

    def _send_flow(self, name: str, target: str, relation: Any, spark_conf: dict[str, str],
                   location: Any) -> None:
        command = pb2.Command()
        command.pipeline_command.define_flow.CopyFrom(pb2.PipelineCommand.DefineFlow(
            dataflow_graph_id=self._dataflow_graph_id,
            flow_name=name,
            target_dataset_name=target,
            relation_flow_details=pb2.PipelineCommand.DefineFlow.WriteRelationFlowDetails(
                relation=relation),
            sql_conf=spark_conf,
            source_code_location=source_code_location_to_proto(location),
        ))
        self._client.execute_command(command)

    def _cdc_spec(self, flow: AutoCdcFlow) -> cdc.CdcSpec:
        def names(cols: Any) -> list[str] | None:
            return None if cols is None else [cdc.column_name(c) for c in cols]

        return cdc.CdcSpec(
            target=flow.target, source=flow.source, keys=names(flow.keys) or [],
            sequence_by=flow.sequence_by, apply_as_deletes=flow.apply_as_deletes,
            column_list=names(flow.column_list), except_column_list=names(flow.except_column_list),
            scd_type=int(flow.stored_as_scd_type or 1),
            track_history_column_list=names(flow.track_history_column_list),
            track_history_except_column_list=names(flow.track_history_except_column_list),
        )

    def _send_cdc(self, flow: AutoCdcFlow, spec: cdc.CdcSpec) -> None:
        spark, location = self._spark, flow.source_code_location
        capture_name = flow.name or spec.target
        capture = Flow(name=spec.staging_table, target=spec.staging_table, spark_conf=flow.spark_conf,
                       source_code_location=location,
                       func=lambda: spark.readStream.table(spec.source))
        apply_flow = Flow(name=capture_name, target=spec.target, spark_conf=flow.spark_conf,
                          source_code_location=location,
                          func=lambda: cdc.target_query(spec, spark.read.table(spec.staging_table)))
        for f in (capture, apply_flow):
            relation, streaming, _ = self._relation(f)
            self._inject_cloud_files_options(f.name, relation)
            self._send_flow(f.name, f.target, relation, f.spark_conf, location)
            self.info.flows[f.name] = FlowInfo(f.name, f.target, streaming, _location(f),
                                               inputs=self._inputs.get(f.name, []))
