"""``pipelines quality``: data-quality summary (terminal and ``--html``) of a local or deployed pipeline.

``pipelines expectations check``: validate every rules file, constraints included, before a run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from palindrom.cli.target import UserError, choose
from palindrom.quality import dashboard, history, sources, terminal, validate
from palindrom.quality import rules as rules_module
from palindrom.runtime import loader, runner, server, spec
from palindrom.runtime.graph import PipelineGraphError


def report(args: argparse.Namespace) -> int:
    rules_dir = rules_module.default_directory()
    if args.pipeline_id:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.errors.base import DatabricksError

        try:
            client = WorkspaceClient(profile=args.profile) if args.profile else WorkspaceClient()
            name, events = sources.databricks_events(client, args.pipeline_id, args.updates)
        except (DatabricksError, ValueError) as exc:
            print(f"error: cannot read the event log of pipeline {args.pipeline_id}: {exc}", file=sys.stderr)
            return 1
    else:
        target = choose(args, args.target)
        name, events = target.name, sources.local_events(target.state_dir)
        if not events:
            raise UserError(f"No event log for '{target.name}' under {args.storage}; run the pipeline first "
                            f"(pipelines run {target.name} --storage {args.storage}).")
        if target.spec:
            rules_dir = rules_module.directory_for(target.spec.configuration)
    built = history.build(name, events, args.updates)
    built.adopt(rules_module.configured(rules_dir))
    print(terminal.render(built))
    if args.html:
        print(f"\nDashboard written to {dashboard.write(built, args.html)}")
    return 0


def check(args: argparse.Namespace) -> int:
    directory = args.dir or rules_module.default_directory()
    files = sorted(directory.glob("*.yml"))
    if not files:
        print(f"error: no rules files (*.yml) in {directory}", file=sys.stderr)
        return 2
    spark_server = server.start(args.storage)
    spark = spark_server.session
    builtins = validate.builtin_functions(spark)
    defined = PipelineColumns(spark_server, args)
    failures, unchecked = 0, 0
    for path in files:
        try:
            loaded = rules_module.load_file(path)
            validate.check_static(loaded)
            schema, origin = _columns(spark, loaded, args.database, defined)
            if schema is not None:
                validate.check_against(loaded, schema, spark, builtins)
        except rules_module.RuleError as exc:
            failures += 1
            print(f"FAIL  {exc}")
            continue
        if schema is None:
            unchecked += 1
            print(f"part  {path} ({len(loaded.rules)} rules; static checks only, {origin})")
            continue
        print(f"ok    {path} ({len(loaded.rules)} rules; {origin})")
    checked = len(files) - failures - unchecked
    print(f"\n{checked} of {len(files)} rules files valid" + (
        f"; {unchecked} passed the static checks only (columns, types and parsing not checked: no pipeline "
        "defines the dataset; name it with --pipeline, declare `schema:` in the file, or pass --database)"
        if unchecked else "") + ".")
    for problem in defined.problems:
        print(f"note: {problem}")
    return 1 if failures else 0


class PipelineColumns:
    """Each dataset's columns as a pipeline defines them: the pipeline's code loaded into a graph
    that never runs (nothing read, written or recorded). Pipelines are defined one at a time, only
    until the dataset asked for is found: ``--pipeline`` names them, else every pipeline of the repo."""

    def __init__(self, spark_server: server.Server, args: argparse.Namespace) -> None:
        self._server, self._storage = spark_server, args.storage
        self._pending = list(args.pipeline or spec.pipeline_names())
        self._columns: dict[str, tuple[T.StructType, str]] = {}
        self.problems: list[str] = []

    def of(self, dataset: str) -> tuple[T.StructType, str] | None:
        """(columns, pipeline name) of the dataset, or None when no pipeline here defines it."""
        while dataset not in self._columns and self._pending:
            self._define(self._pending.pop(0))
        return self._columns.get(dataset)

    def _define(self, name: str) -> None:
        try:
            pipeline = spec.resolve(name, "local", self._storage)
            with server.update_session(self._server) as session, tempfile.TemporaryDirectory() as scratch:
                info = runner.define(session, pipeline, self._storage, Path(scratch))
        except (spec.ConfigurationError, loader.PipelineCodeError, PipelineGraphError) as exc:
            self.problems.append(f"pipeline '{name}' could not be defined, so its datasets' columns are unknown "
                                 f"here: {exc}")
            return
        for flow in info.flows.values():
            if flow.schema is None or flow.target in self._columns or flow.target in info.private:
                continue
            self._columns[flow.target.split(".")[-1].strip("`")] = (flow.schema, pipeline.name)


def _columns(spark: SparkSession, loaded: rules_module.DatasetRules, database: str | None,
             defined: PipelineColumns) -> tuple[T.StructType | None, str]:
    """The dataset's columns: its local table (--database); else as a pipeline defines the dataset;
    else the Avro schema the file declares; else unknown (static checks only)."""
    if not database:
        found = defined.of(loaded.dataset)
        if found is not None:
            return found[0], f"columns of {loaded.dataset} as pipeline '{found[1]}' defines it"
    if loaded.schema is not None:
        return validate.declared_columns(loaded), f"columns from {loaded.schema}"
    if database:
        table = f"{database}.{loaded.dataset}"
        if not spark.catalog.tableExists(f"`{database}`.`{loaded.dataset}`"):
            raise rules_module.RuleError(
                f"{loaded.path}: dataset {loaded.dataset} has no table {table} to check the rules against: run "
                "the pipeline that defines it (pipelines run <pipeline>) with this --storage first, or declare "
                "`schema:` in the file.")
        return spark.table(table).schema, f"columns from table {table}"
    return None, "no schema declared and no --database given"
