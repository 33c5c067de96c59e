"""``pipelines quality``: data-quality summary (terminal and ``--html``) of a local or deployed pipeline.

``pipelines expectations check``: validate every rules file, constraints included, before a run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import types as T

from palindrom.cli.target import UserError, catalog, choose, ensure_free
from palindrom.quality import dashboard, history, sources, terminal, validate
from palindrom.quality import rules as rules_module
from palindrom.runtime import server


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
        ensure_free(args.storage)
        with catalog(args, target.name) as spark:
            if not spark.catalog.tableExists(f"`{target.database}`.event_log"):
                raise UserError(f"No event log for '{target.name}' under {args.storage}; run the pipeline first "
                                f"(pipelines run {target.name} --storage {args.storage}).")
            name, events = target.name, sources.local_events(spark, target.database)
        configured = target.spec.configuration.get(rules_module.CONF_KEY) if target.spec else None
        if configured:
            rules_dir = Path(configured)
    built = history.build(name, events, args.updates)
    _name_quarantine_rules(built, rules_dir)
    print(terminal.render(built))
    if args.html:
        print(f"\nDashboard written to {dashboard.write(built, args.html)}")
    return 0


def _name_quarantine_rules(report: history.QualityReport, directory: Path) -> None:
    """Quarantine rules named as such, from the rules files."""
    for key, action in rules_module.configured_actions(directory).items():
        if key in report.actions:
            report.actions[key] = action


def check(args: argparse.Namespace) -> int:
    directory = args.dir or rules_module.default_directory()
    files = sorted(directory.glob("*.yml"))
    if not files:
        print(f"error: no rules files (*.yml) in {directory}", file=sys.stderr)
        return 2
    spark = server.start(args.storage).session
    builtins = validate.builtin_functions(spark)
    failures, unchecked = 0, 0
    for path in files:
        try:
            loaded = rules_module.load_file(path)
            validate.check_static(loaded)
            schema, origin = _columns(spark, loaded, args.database)
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
        f"; {unchecked} passed the static checks only (columns, types and parsing not checked: declare "
        "`schema:` in the file, or run the pipeline locally and pass --database)" if unchecked else "") + ".")
    return 1 if failures else 0


def _columns(spark: SparkSession, loaded: rules_module.DatasetRules,
             database: str | None) -> tuple[T.StructType | None, str]:
    """The dataset's columns: its declared Avro schema, else its local table; else unchecked."""
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
