"""Run a pipeline, or part of it, on mock inputs: the same update ``pipelines run`` runs
(:func:`palindrom.runtime.runner.run_update` in a session of its own), in a storage folder and a
database of the test's own, on a shared Spark Connect server.

```python
run = (Pipeline(server, "events", tmp_path)
       .given("events_app_bronze_actions", rows=[{...}])
       .run(select=["events_app_silver_actions"]))
run.rows("events_app_silver_actions")
```
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from palindrom.runtime import server, source_mocks, spec
from palindrom.runtime.graph import PipelineGraphError, Substitute, is_internal, private_schema
from palindrom.runtime.loader import PipelineCodeError
from palindrom.runtime.runner import (
    FlowResult,
    PipelineRunError,
    RunOptions,
    UpdateResult,
    failed_to_start_workers,
    run_update,
)
from palindrom.testing.mocks import Mock, MockSchemaError, Rows

EXPECTATIONS_KEY = "palindrom.expectations_path"  # palindrom.quality.rules.CONF_KEY
WORKER_START_RETRIES = 2  # as ``pipelines run``: an update whose Python workers missed their start window


class UnknownDatasetError(LookupError):
    """A name that is not a dataset (or flow) of the pipeline; the message lists the ones it has."""


class UpdateFailed(AssertionError):
    """The update failed (a fail expectation, a query error); ``run`` holds what it did."""

    def __init__(self, message: str, run: PipelineRun) -> None:
        super().__init__(message)
        self.run = run


@dataclass(frozen=True)
class ExpectationCounts:
    """One rule's counts over an update, summed over the dataset's flows, as Databricks reports them.
    ``dropped``: the rows this rule failed when it drops them (drop, quarantine), else 0."""

    passed: int
    failed: int
    dropped: int


class Pipeline:
    """One pipeline under test: its own storage and database; mocks by dataset or flow name."""

    def __init__(self, spark_server: server.Server, target: str | Path, workdir: Path, *, env: str = "local",
                 configuration: Mapping[str, str] | None = None) -> None:
        self._server = spark_server
        self.workdir = workdir
        self.storage = workdir / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        resolved = spec.resolve(str(target), env, self.storage)
        database = f"{resolved.database}_{uuid.uuid4().hex[:8]}"
        # The rules of the pipeline's own repository (a scaffolded one too), unless configured.
        rules = {EXPECTATIONS_KEY: str(spec.repo_root(resolved.root) / "expectations")}
        self.spec = dataclasses.replace(resolved, database=database, configuration={
            **rules, **resolved.configuration, **(configuration or {})})
        self._mocks: dict[str, Mock] = {}

    @property
    def database(self) -> str:
        """The test's own database (the pipeline's ``database`` with a unique suffix)."""
        return self.spec.database

    @property
    def spark(self) -> SparkSession:
        return self._server.session

    def configure(self, **settings: str) -> Pipeline:
        """Set pipeline configuration keys (``spark.conf.get`` in pipeline code) before the next run."""
        self.spec = dataclasses.replace(self.spec, configuration={**self.spec.configuration, **settings})
        return self

    def folder(self, *parts: str) -> Path:
        """A folder of this test's own (created), e.g. to point a landing path at."""
        path = self.workdir.joinpath("files", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def redirect(self, prefix: str, local: str | Path) -> Pipeline:
        """Reads of paths under ``prefix`` (``/Volumes/...``, ``s3://...``) read ``local`` instead."""
        pairs = {**self.spec.local_paths(), prefix: str(local)}
        return self.configure(**{spec.LOCAL_PATHS_KEY: ";".join(f"{k}={v}" for k, v in pairs.items())})

    def given(self, name: str, rows: Rows | None = None, *, df: Any = None,
              files: Sequence[Path | str] | None = None, replace: bool = False) -> Pipeline:
        """Mock dataset or flow ``name`` with one more batch: rows (dicts), a Spark or pandas
        DataFrame (``df=``) or files (``files=``: JSON lines, CSV with a header, Parquet). The next
        run reads it in place of the dataset's own query; a streaming dataset's next run reads only
        the batches given since the previous run. ``replace=True`` forgets the earlier batches."""
        key = source_mocks.mock_key(name)  # `main`.`sales`.`ORDERS` is main.sales.orders, as for Spark
        folder = self.workdir / "mocks" / re.sub(r"[^\w.-]", "_", key)
        mock = self._mocks.setdefault(key, Mock(name, folder))
        mock.add(rows, df, files, replace)
        return self

    def run(self, select: Sequence[str] | None = None, *, full_refresh: bool = False) -> PipelineRun:
        """One update: of ``select`` and what they read (all datasets when None), incremental unless
        ``full_refresh``. Raises :class:`UpdateFailed` when the update fails."""
        chosen = list(select or [])
        options = RunOptions(refresh=[] if full_refresh else chosen, full_refresh=chosen if full_refresh else [],
                             full_refresh_all=full_refresh and not chosen, with_upstream=bool(chosen))
        result: UpdateResult | None = None
        for attempt in range(WORKER_START_RETRIES + 1):
            try:
                with server.update_session(self._server) as session:
                    result = run_update(session, self.spec, self.storage, options, self._server.event_log_dir,
                                        substitutes=self._substitutes())
                return PipelineRun(result, self.spark, self.spec.database)
            except PipelineCodeError as exc:
                if isinstance(exc.cause, MockSchemaError | PipelineGraphError):
                    raise _known_error(exc.cause) from None
                raise
            except PipelineGraphError as exc:
                raise _known_error(exc) from None
            except PipelineRunError as exc:
                if attempt < WORKER_START_RETRIES and failed_to_start_workers(exc.result):
                    continue
                raise UpdateFailed(f"The update of '{self.spec.name}' failed: {exc}",
                                   PipelineRun(exc.result, self.spark, self.spec.database)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _substitutes(self) -> dict[str, Substitute]:
        session = self.spark

        def substitute(mock: Mock) -> Substitute:
            return lambda update, schema, streaming: mock.substitute(session, update, schema, streaming)

        return {mock.name: substitute(mock) for mock in self._mocks.values()}

    def close(self) -> None:
        """Drop the test's databases (their files go with the test's temporary folder)."""
        for database in (self.spec.database, private_schema(self.spec.database)):
            self.spark.sql(f"DROP DATABASE IF EXISTS `{database}` CASCADE")


def _known_error(exc: Exception) -> Exception:
    if isinstance(exc, MockSchemaError):
        return exc
    text = str(exc)
    return UnknownDatasetError(text) if "Unknown dataset" in text or "neither a dataset" in text else exc


class PipelineRun:
    """What one update did: tables, rows, expectation counts, flows and the event log."""

    def __init__(self, result: UpdateResult, spark: SparkSession, database: str) -> None:
        self.result = result
        self.spark = spark
        self.database = database

    @property
    def flows(self) -> dict[str, FlowResult]:
        """Each flow's state and rows written in this update."""
        return self.result.flows

    def datasets(self) -> list[str]:
        """The pipeline's tables (not temporary views), as the update defined them."""
        return sorted(n for n, kind in self.result.graph.outputs.items()
                      if kind in ("streaming_table", "materialized_view") and not is_internal(n))

    def table(self, name: str) -> DataFrame:
        """The dataset's table as Spark reads it after the update."""
        known = self.datasets()
        if name not in known:
            kind = self.result.graph.outputs.get(name)
            why = "is a temporary view (not stored): read a table built from it" if kind == "view" else \
                "is not a table of this pipeline"
            raise UnknownDatasetError(f"'{name}' {why}. The pipeline's tables: {', '.join(known)}.")
        schema = self.result.graph.schema_of(name, self.database)
        return self.spark.read.table(f"`{schema}`.`{name}`")

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The dataset's rows as plain dicts (nested rows as dicts too), ordered by every column."""
        frame = self.table(name)
        ordered = frame.orderBy(*[F.col(f"`{f.name}`").asc_nulls_first() for f in frame.schema.fields
                                  if _sortable(f.dataType)])
        return [row.asDict(recursive=True) for row in ordered.collect()]

    def quarantine(self, dataset: str) -> DataFrame:
        """The rows a quarantine rule of ``dataset`` kept out (``<dataset>_quarantine``)."""
        return self.table(f"{dataset}_quarantine")

    def expectation(self, dataset: str, rule: str) -> ExpectationCounts:
        """Counts of one rule of ``dataset`` in this update."""
        rules = {e.name: e.action for f in self.result.graph.flows.values() if f.target == dataset
                 for e in f.expectations}
        if rule not in rules:
            with_rules = sorted({f.target for f in self.result.graph.flows.values() if f.expectations})
            raise UnknownDatasetError(f"'{dataset}' has no expectation '{rule}'. Its rules: "
                                      f"{', '.join(sorted(rules)) or 'none'}; datasets with rules: "
                                      f"{', '.join(with_rules)}.")
        passed = failed = 0
        for flow, quality in self.result.quality.items():
            if self.result.graph.flows[flow].target != dataset:
                continue
            for entry in quality["expectations"]:
                if entry["name"] == rule:
                    passed += int(entry["passed_records"])
                    failed += int(entry["failed_records"])
        return ExpectationCounts(passed, failed, failed if rules[rule] == "drop" else 0)

    def dropped(self, dataset: str) -> int:
        """Rows the dataset's drop (and quarantine) rules kept out in this update, each row once."""
        return sum(int(q["dropped_records"]) for flow, q in self.result.quality.items()
                   if self.result.graph.flows[flow].target == dataset)

    def event_log(self) -> DataFrame:
        """This update's events in the pipeline's event log (Databricks's columns and event types)."""
        log = self.spark.read.table(f"`{self.database}`.`event_log`")
        return log.where(F.col("origin.update_id") == F.lit(self.result.update_id))


def _sortable(kind: T.DataType) -> bool:
    return not isinstance(kind, T.MapType | T.BinaryType)
