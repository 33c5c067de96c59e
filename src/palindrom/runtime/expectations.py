"""Databricks expectation semantics on plain Spark DataFrames.

``warn`` keeps every row, ``drop`` filters failing rows out before the write, ``fail`` makes the
flow's update fail on the first failing row with an error that names the expectation and shows the
row. A row whose constraint evaluates to NULL counts as failing, as on Databricks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

Action = Literal["warn", "drop", "fail"]
ACTIONS: tuple[Action, ...] = ("warn", "drop", "fail")
FAIL_MARKER = "EXPECTATION_VIOLATED"
ATTRIBUTE = "__dlt_expectations__"


@dataclass(frozen=True)
class Expectation:
    name: str
    constraint: str
    action: Action


def passed(expectation: Expectation) -> Column:
    """A non-null boolean column: True when the row satisfies the constraint."""
    return F.coalesce(F.expr(expectation.constraint), F.lit(False))


def apply(df: DataFrame, expectations: Iterable[Expectation], dataset: str) -> DataFrame:
    """Return ``df`` with fail rules raising and drop rules filtering, in declaration order."""
    result = df
    for exp in expectations:
        if exp.action == "fail":
            message = F.concat(
                F.lit(f"{FAIL_MARKER}: expectation '{exp.name}' ({exp.constraint}) failed on dataset "
                      f"'{dataset}' for row "),
                F.expr("to_json(struct(*))"),
            )
            result = result.filter(F.when(passed(exp), F.lit(True)).otherwise(F.raise_error(message)))
        elif exp.action == "drop":
            result = result.filter(passed(exp))
    return result


def attach(func: Callable[..., Any], expectations: Iterable[Expectation]) -> Callable[..., Any]:
    """Record expectations on a query function (the decorators stack them in source order)."""
    existing: list[Expectation] = list(getattr(func, ATTRIBUTE, []))
    new = list(expectations)
    names = {e.name for e in existing}
    for exp in new:
        if exp.name in names:
            raise ValueError(f"Expectation name '{exp.name}' is used twice on '{func.__name__}'; "
                             "names must be unique per dataset.")
        names.add(exp.name)
    # Decorators apply bottom-up; keep the order in which they appear in the source.
    setattr(func, ATTRIBUTE, new + existing)
    return func


def from_mapping(rules: Mapping[str, str], action: Action) -> list[Expectation]:
    return [Expectation(name, constraint, action) for name, constraint in rules.items()]


def of(func: Callable[..., Any]) -> list[Expectation]:
    return list(getattr(func, ATTRIBUTE, []))


def metric_columns(expectations: list[Expectation]) -> list[Column]:
    """Aggregates over a flow's rows before expectations apply: ``input``, ``dropped`` (rows failing
    any drop rule, counted once) and ``failed_<i>`` per expectation, in declaration order."""
    columns = [F.count(F.lit(1)).alias("input")]
    drops = [passed(e) for e in expectations if e.action == "drop"]
    any_drop_failed = F.lit(False)
    for ok in drops:
        any_drop_failed = any_drop_failed | ~ok
    columns.append(F.sum(F.when(any_drop_failed, 1).otherwise(0)).alias("dropped"))
    columns.extend(F.sum(F.when(passed(e), 0).otherwise(1)).alias(f"failed_{i}") for i, e in enumerate(expectations))
    return columns


def quality_from_metrics(expectations: list[Expectation], dataset: str, values: dict[str, Any]) -> dict[str, Any]:
    """Databricks's ``flow_progress.data_quality`` from the aggregates of :func:`metric_columns`."""
    rows = int(values.get("input") or 0)
    entries = []
    for i, exp in enumerate(expectations):
        failed = int(values.get(f"failed_{i}") or 0)
        entries.append({"name": exp.name, "dataset": dataset, "passed_records": rows - failed,
                        "failed_records": failed})
    return {"dropped_records": int(values.get("dropped") or 0), "expectations": entries}
