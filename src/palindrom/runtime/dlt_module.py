"""The ``dlt`` module as pipeline files see it in local runs.

Installed into ``sys.modules["dlt"]`` only while a local run loads pipeline files (see
:func:`installed`); the unrelated PyPI package called ``dlt`` is never installed or touched. The
functions of Databricks's ``pyspark.pipelines`` that open-source Spark lacks (expectations,
``create_auto_cdc_flow`` with every argument, snapshots, ``once`` flows, ``private`` tables) are
added to ``pyspark.pipelines`` for the same window. Everything maps onto the local graph registry
with Databricks's semantics; options that change nothing locally are accepted with one notice.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pyspark import pipelines as dp
from pyspark.pipelines.graph_element_registry import get_active_graph_element_registry
from pyspark.pipelines.source_code_location import get_caller_source_code_location
from pyspark.sql import Column, DataFrame, SparkSession

from palindrom.runtime import cdc, snapshots_cdc
from palindrom.runtime import expectations as ex
from palindrom.runtime.graph import LocalGraphRegistry, PipelineGraphError

QueryFunction = Callable[[], DataFrame]
_session: SparkSession | None = None


def _registry() -> LocalGraphRegistry:
    registry = get_active_graph_element_registry()
    if not isinstance(registry, LocalGraphRegistry):
        raise RuntimeError("The dlt module is only available while a local pipeline run loads its files.")
    return registry


def _spark() -> SparkSession:
    if _session is None:
        raise RuntimeError("dlt.read/read_stream are only available while a pipeline loads.")
    return _session


def _accepted(name: str, options: Mapping[str, Any]) -> None:
    for key, value in options.items():
        if value not in (None, False):
            _registry().notice(f"'{key}' on '{name}' is accepted but has no effect locally (Databricks-only).")


def _rules(expect_all: Mapping[str, str] | None, expect_all_or_drop: Mapping[str, str] | None,
           expect_all_or_fail: Mapping[str, str] | None) -> list[ex.Expectation]:
    return (ex.from_mapping(expect_all or {}, "warn") + ex.from_mapping(expect_all_or_drop or {}, "drop")
            + ex.from_mapping(expect_all_or_fail or {}, "fail"))


def _dataset(kind: str, query_function: QueryFunction | None, **kwargs: Any) -> Any:
    """Shared body of ``table`` / ``materialized_view``: expectations, private tables, notices."""
    def outer(func: QueryFunction) -> None:
        name = kwargs.get("name") or func.__name__
        rules = _rules(kwargs.pop("expect_all", None), kwargs.pop("expect_all_or_drop", None),
                       kwargs.pop("expect_all_or_fail", None))
        if rules:
            func = ex.attach(func, rules)
        if kwargs.pop("private", False) or kwargs.pop("temporary", False):
            _registry().mark_private(name)
        _accepted(name, {k: kwargs.pop(k, None) for k in ("path", "row_filter", "cluster_by_auto", "refresh_policy")})
        getattr(_PYSPARK_API, kind)(func, **kwargs)

    return outer(query_function) if query_function is not None else outer


def table(query_function: QueryFunction | None = None, **kwargs: Any) -> Any:
    """``@dlt.table``: a streaming table over a streaming query, a materialized view otherwise."""
    return _dataset("table", query_function, **kwargs)


def materialized_view(query_function: QueryFunction | None = None, **kwargs: Any) -> Any:
    return _dataset("materialized_view", query_function, **kwargs)


create_table = table  # the name of @dlt.table in DLT's first releases


def view(query_function: QueryFunction | None = None, *, name: str | None = None,
         comment: str | None = None, spark_conf: dict[str, str] | None = None) -> Any:
    """``@dlt.view``: a pipeline-scoped view, never persisted."""
    decorator = _PYSPARK_API.temporary_view(name=name, comment=comment, spark_conf=spark_conf)
    return decorator(query_function) if query_function is not None else decorator


temporary_view = view
create_view = view  # DLT's early name for @dlt.view


def create_streaming_table(name: str, comment: str | None = None, spark_conf: dict[str, str] | None = None,
                           table_properties: dict[str, str] | None = None, partition_cols: list[str] | None = None,
                           cluster_by: list[str] | None = None, path: str | None = None,
                           schema: Any = None, expect_all: Mapping[str, str] | None = None,
                           expect_all_or_drop: Mapping[str, str] | None = None,
                           expect_all_or_fail: Mapping[str, str] | None = None,
                           row_filter: str | None = None, format: str | None = None,
                           private: bool = False, temporary: bool = False, cluster_by_auto: bool = False) -> None:
    registry = _registry()
    _accepted(name, {"path": path, "row_filter": row_filter, "cluster_by_auto": cluster_by_auto})
    if spark_conf:
        registry.notice(f"'spark_conf' on streaming table '{name}' applies to each flow into it locally.")
    if private or temporary:
        registry.mark_private(name)
    _CREATE_STREAMING_TABLE(name, comment=comment, table_properties=table_properties,
                            partition_cols=partition_cols, cluster_by=cluster_by, schema=schema, format=format)
    rules = _rules(expect_all, expect_all_or_drop, expect_all_or_fail)
    if rules:
        registry.add_table_expectations(name, rules)


# The names DLT used before create_streaming_table; same arguments.
create_target_table = create_streaming_live_table = create_streaming_table


def append_flow(target: str, name: str | None = None, comment: str | None = None,
                spark_conf: dict[str, str] | None = None, once: bool = False) -> Callable[[QueryFunction], None]:
    """``@dlt.append_flow``; with ``once=True`` a backfill that runs in the first update (and again
    after a full refresh of its target), its query read as a batch."""
    decorator = _PYSPARK_API.append_flow(target=target, name=name, spark_conf=spark_conf)

    def outer(func: QueryFunction) -> None:
        decorator(func)
        if once:
            _registry().mark_once(name or func.__name__)

    return outer


def read(name: str) -> DataFrame:
    return _spark().read.table(name)


def read_stream(name: str) -> DataFrame:
    return _spark().readStream.table(name)


readStream = read_stream  # the camel-case name DLT's first releases exported


def _rule(action: ex.Action, name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return lambda func: ex.attach(func, [ex.Expectation(name, constraint, action)])


def _rule_set(action: ex.Action, rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return lambda func: ex.attach(func, ex.from_mapping(rules, action))


def expect(name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return _rule("warn", name, constraint)


def expect_or_drop(name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return _rule("drop", name, constraint)


def expect_or_fail(name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return _rule("fail", name, constraint)


def expect_all(rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return _rule_set("warn", rules)


def expect_all_or_drop(rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return _rule_set("drop", rules)


def expect_all_or_fail(rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return _rule_set("fail", rules)


def _names(columns: Sequence[str | Column] | None) -> list[str] | None:
    return None if columns is None else [cdc.column_name(c) for c in columns]


def create_auto_cdc_flow(target: str, source: str, keys: Sequence[str | Column], sequence_by: str | Column,
                         ignore_null_updates: bool = False, apply_as_deletes: str | Column | None = None,
                         apply_as_truncates: str | Column | None = None,
                         column_list: Sequence[str | Column] | None = None,
                         except_column_list: Sequence[str | Column] | None = None,
                         stored_as_scd_type: int | str = 1,
                         track_history_column_list: Sequence[str | Column] | None = None,
                         track_history_except_column_list: Sequence[str | Column] | None = None,
                         flow_name: str | None = None, once: bool = False, name: str | None = None,
                         ignore_null_updates_column_list: Sequence[str | Column] | None = None,
                         ignore_null_updates_except_column_list: Sequence[str | Column] | None = None,
                         spark_conf: dict[str, str] | None = None) -> None:
    """``dlt.apply_changes`` / ``dp.create_auto_cdc_flow`` with Databricks's arguments."""
    sequence = cdc.as_column(sequence_by)
    if sequence is None:
        raise ValueError(f"AUTO CDC into '{target}' needs sequence_by.")
    spec = cdc.CdcSpec(
        target=target, source=source, keys=_names(keys) or [], sequence_by=sequence,
        apply_as_deletes=cdc.as_column(apply_as_deletes), apply_as_truncates=cdc.as_column(apply_as_truncates),
        column_list=_names(column_list), except_column_list=_names(except_column_list),
        scd_type=int(stored_as_scd_type), track_history_column_list=_names(track_history_column_list),
        track_history_except_column_list=_names(track_history_except_column_list),
        ignore_null_updates=ignore_null_updates,
        ignore_null_updates_column_list=_names(ignore_null_updates_column_list),
        ignore_null_updates_except_column_list=_names(ignore_null_updates_except_column_list))
    _registry().register_cdc(spec, flow_name or name or target, get_caller_source_code_location(stacklevel=1),
                             spark_conf, once=once)


apply_changes = create_auto_cdc_flow


def create_auto_cdc_from_snapshot_flow(target: str, source: str | Callable[..., Any],
                                       keys: Sequence[str | Column], stored_as_scd_type: int | str = 1,
                                       track_history_column_list: Sequence[str | Column] | None = None,
                                       track_history_except_column_list: Sequence[str | Column] | None = None,
                                       name: str | None = None, once: bool = False) -> None:
    """``dlt.apply_changes_from_snapshot`` / ``dp.create_auto_cdc_from_snapshot_flow``."""
    spec = snapshots_cdc.SnapshotSpec(
        target=target, source=source, keys=_names(keys) or [], scd_type=int(stored_as_scd_type),
        track_history_column_list=_names(track_history_column_list),
        track_history_except_column_list=_names(track_history_except_column_list))
    _registry().register_snapshot_cdc(spec, name or target, get_caller_source_code_location(stacklevel=1),
                                      once=once)


apply_changes_from_snapshot = create_auto_cdc_from_snapshot_flow


def on_event_hook(user_event_hook: Callable[..., Any] | None = None, *,
                  max_allowable_consecutive_failures: int | None = None) -> Any:
    """``@dlt.on_event_hook`` (event hooks, Public Preview on Databricks): refused when the file loads."""
    del user_event_hook, max_allowable_consecutive_failures  # Databricks's signature, accepted and refused
    raise PipelineGraphError(
        "@dlt.on_event_hook (event hooks) is not supported by the local runtime: pipeline events are not "
        "delivered to Python callbacks here. Read the update's events from the event log table "
        "(<database>.event_log, or `pipelines logs`) after the update instead.")


def foreach_batch_sink(name: str | None = None) -> Callable[[Callable[[DataFrame, int], None]], Any]:
    """``@dp.foreach_batch_sink``: each micro-batch of the flows into the sink goes to the function."""
    location = get_caller_source_code_location(stacklevel=1)

    def decorator(handler: Callable[[DataFrame, int], None]) -> Callable[[DataFrame, int], None]:
        _registry().register_foreach_batch_sink(name or handler.__name__, handler, location)
        return handler

    return decorator


def create_sink(name: str, format: str, options: dict[str, str] | None = None) -> None:
    _registry().register_sink(name, format, dict(options or {}), get_caller_source_code_location(stacklevel=1))


# The pyspark.pipelines functions as shipped, captured before `installed()` extends the module.
_PYSPARK_API = types.SimpleNamespace(table=dp.table, materialized_view=dp.materialized_view,
                                     temporary_view=dp.temporary_view, append_flow=dp.append_flow)
_CREATE_STREAMING_TABLE = dp.create_streaming_table

# Databricks's `pyspark.pipelines` has these (or more arguments than open-source Spark 4.3's).
_DP_EXTENSIONS: dict[str, Any] = {
    "table": table, "materialized_view": materialized_view, "temporary_view": temporary_view,
    "create_streaming_table": create_streaming_table, "append_flow": append_flow,
    "expect": expect, "expect_or_drop": expect_or_drop, "expect_or_fail": expect_or_fail,
    "expect_all": expect_all, "expect_all_or_drop": expect_all_or_drop, "expect_all_or_fail": expect_all_or_fail,
    "create_auto_cdc_flow": create_auto_cdc_flow,
    "create_auto_cdc_from_snapshot_flow": create_auto_cdc_from_snapshot_flow, "create_sink": create_sink,
    "foreach_batch_sink": foreach_batch_sink,
}


@contextlib.contextmanager
def installed(spark: SparkSession) -> Iterator[None]:
    """Make ``import dlt`` and Databricks's ``dp`` extensions work while pipeline files load."""
    global _session
    previous_module = sys.modules.get("dlt")
    previous_dp = {name: getattr(dp, name, None) for name in _DP_EXTENSIONS}
    sys.modules["dlt"] = sys.modules[__name__]
    for name, func in _DP_EXTENSIONS.items():
        setattr(dp, name, func)
    _session = spark
    try:
        yield
    finally:
        _session = None
        for name, func in previous_dp.items():
            if func is None:
                delattr(dp, name)
            else:
                setattr(dp, name, func)
        if previous_module is None:
            sys.modules.pop("dlt", None)
        else:
            sys.modules["dlt"] = previous_module
