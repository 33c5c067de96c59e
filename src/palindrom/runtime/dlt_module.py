"""The ``dlt`` module as pipeline files see it in local runs.

Installed into ``sys.modules["dlt"]`` only while a local run loads pipeline files (see
:func:`installed`); the unrelated PyPI package called ``dlt`` is never installed or touched.
Everything maps onto ``pyspark.pipelines`` with Databricks's semantics; options open-source Spark
cannot apply are accepted with one notice.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pyspark import pipelines as dp
from pyspark.pipelines.graph_element_registry import get_active_graph_element_registry
from pyspark.sql import Column, DataFrame, SparkSession

from palindrom.runtime import expectations as ex

QueryFunction = Callable[[], DataFrame]
_session: SparkSession | None = None


def _notice(message: str) -> None:
    registry = get_active_graph_element_registry()
    notice = getattr(registry, "notice", None)
    if notice is not None:
        notice(message)


def _spark() -> SparkSession:
    if _session is None:
        raise RuntimeError("dlt.read/read_stream are only available while a pipeline loads.")
    return _session


def _unsupported(name: str, options: Mapping[str, Any]) -> None:
    for key, value in options.items():
        if value not in (None, False):
            _notice(f"'{key}' on '{name}' is accepted but not applied locally (Databricks-only).")


def _expectation_kwargs(func: QueryFunction, expect_all: Mapping[str, str] | None,
                        expect_all_or_drop: Mapping[str, str] | None,
                        expect_all_or_fail: Mapping[str, str] | None) -> QueryFunction:
    rules = (ex.from_mapping(expect_all or {}, "warn") + ex.from_mapping(expect_all_or_drop or {}, "drop")
             + ex.from_mapping(expect_all_or_fail or {}, "fail"))
    return ex.attach(func, rules) if rules else func


def _dataset(kind: str, query_function: QueryFunction | None, **kwargs: Any) -> Any:
    """Shared body of ``table`` / ``materialized_view``: expectations, private tables, notices."""
    def outer(func: QueryFunction) -> None:
        name = kwargs.get("name") or func.__name__
        func = _expectation_kwargs(func, kwargs.pop("expect_all", None), kwargs.pop("expect_all_or_drop", None),
                                   kwargs.pop("expect_all_or_fail", None))
        private = kwargs.pop("private", False) or kwargs.pop("temporary", False)
        _unsupported(name, {k: kwargs.pop(k, None) for k in ("path", "row_filter", "cluster_by_auto")})
        if private:
            _notice(f"Private table '{name}' runs as a pipeline-scoped view locally (not persisted).")
            dp.temporary_view(name=name, comment=kwargs.get("comment"), spark_conf=kwargs.get("spark_conf"))(func)
            return
        getattr(_PYSPARK_API, kind)(func, **kwargs)

    return outer(query_function) if query_function is not None else outer


def table(query_function: QueryFunction | None = None, **kwargs: Any) -> Any:
    """``@dlt.table``: a streaming table over a streaming query, a materialized view otherwise."""
    return _dataset("table", query_function, **kwargs)


def materialized_view(query_function: QueryFunction | None = None, **kwargs: Any) -> Any:
    return _dataset("materialized_view", query_function, **kwargs)


def view(query_function: QueryFunction | None = None, *, name: str | None = None,
         comment: str | None = None, spark_conf: dict[str, str] | None = None) -> Any:
    """``@dlt.view``: a pipeline-scoped view, never persisted."""
    decorator = dp.temporary_view(name=name, comment=comment, spark_conf=spark_conf)
    return decorator(query_function) if query_function is not None else decorator


temporary_view = view


def create_streaming_table(name: str, comment: str | None = None, spark_conf: dict[str, str] | None = None,
                           table_properties: dict[str, str] | None = None, partition_cols: list[str] | None = None,
                           cluster_by: list[str] | None = None, path: str | None = None,
                           schema: Any = None, expect_all: Mapping[str, str] | None = None,
                           expect_all_or_drop: Mapping[str, str] | None = None,
                           expect_all_or_fail: Mapping[str, str] | None = None,
                           row_filter: str | None = None, format: str | None = None) -> None:
    _unsupported(name, {"path": path, "row_filter": row_filter})
    if spark_conf:
        _notice(f"'spark_conf' on streaming table '{name}' applies to each flow into it locally.")
    _CREATE_STREAMING_TABLE(name, comment=comment, table_properties=table_properties,
                            partition_cols=partition_cols, cluster_by=cluster_by, schema=schema, format=format)
    rules = (ex.from_mapping(expect_all or {}, "warn") + ex.from_mapping(expect_all_or_drop or {}, "drop")
             + ex.from_mapping(expect_all_or_fail or {}, "fail"))
    add = getattr(get_active_graph_element_registry(), "add_table_expectations", None)
    if rules and add is not None:
        add(name, rules)


def append_flow(target: str, name: str | None = None, comment: str | None = None,
                spark_conf: dict[str, str] | None = None, once: bool = False) -> Callable[[QueryFunction], None]:
    if once:
        raise ValueError(f"append_flow(once=True) into '{target}' is not supported by the local runtime; "
                         "use a regular append flow for local runs.")
    return dp.append_flow(target=target, name=name, spark_conf=spark_conf)


def read(name: str) -> DataFrame:
    return _spark().read.table(name)


def read_stream(name: str) -> DataFrame:
    return _spark().readStream.table(name)


def _rule(action: ex.Action, name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return lambda func: ex.attach(func, [ex.Expectation(name, constraint, action)])


def _rules(action: ex.Action, rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return lambda func: ex.attach(func, ex.from_mapping(rules, action))


def expect(name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return _rule("warn", name, constraint)


def expect_or_drop(name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return _rule("drop", name, constraint)


def expect_or_fail(name: str, constraint: str) -> Callable[[QueryFunction], QueryFunction]:
    return _rule("fail", name, constraint)


def expect_all(rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return _rules("warn", rules)


def expect_all_or_drop(rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return _rules("drop", rules)


def expect_all_or_fail(rules: Mapping[str, str]) -> Callable[[QueryFunction], QueryFunction]:
    return _rules("fail", rules)


def create_auto_cdc_flow(target: str, source: str, keys: list[str] | list[Column],
                         sequence_by: str | Column, where: Any = None, ignore_null_updates: bool = False,
                         apply_as_deletes: str | Column | None = None, apply_as_truncates: Any = None,
                         column_list: Any = None, except_column_list: Any = None,
                         stored_as_scd_type: int | str = 1, track_history_column_list: Any = None,
                         track_history_except_column_list: Any = None, flow_name: str | None = None,
                         once: bool = False, name: str | None = None) -> None:
    for option, value in {"where": where, "ignore_null_updates": ignore_null_updates,
                          "apply_as_truncates": apply_as_truncates, "once": once}.items():
        if value not in (None, False):
            raise ValueError(f"apply_changes into '{target}': '{option}' is not supported by the local "
                             "AUTO CDC fallback; remove it or run this pipeline on Databricks.")
    _CREATE_AUTO_CDC_FLOW(
        target=target, source=source, keys=keys, sequence_by=sequence_by, apply_as_deletes=apply_as_deletes,
        column_list=column_list, except_column_list=except_column_list,
        stored_as_scd_type=str(stored_as_scd_type), name=flow_name or name,  # type: ignore[arg-type]
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list,
    )


apply_changes = create_auto_cdc_flow


def create_sink(name: str, format: str, options: dict[str, str] | None = None) -> None:
    dp.create_sink(name, format, options)


# The pyspark.pipelines functions as shipped, captured before `installed()` extends the module.
_PYSPARK_API = types.SimpleNamespace(table=dp.table, materialized_view=dp.materialized_view)
_CREATE_STREAMING_TABLE = dp.create_streaming_table
_CREATE_AUTO_CDC_FLOW = dp.create_auto_cdc_flow

# Databricks's `pyspark.pipelines` has these; open-source Spark 4.3's does not.
_DP_EXTENSIONS: dict[str, Any] = {
    "table": table, "materialized_view": materialized_view, "create_streaming_table": create_streaming_table,
    "expect": expect, "expect_or_drop": expect_or_drop, "expect_or_fail": expect_or_fail,
    "expect_all": expect_all, "expect_all_or_drop": expect_all_or_drop, "expect_all_or_fail": expect_all_or_fail,
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
