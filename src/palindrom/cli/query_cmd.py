"""``pipelines query`` and ``pipelines tables``: Spark SQL and row counts over the local tables."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from palindrom.cli.target import UserError, catalog, choose, ensure_free
from palindrom.runtime import history, lock, table_files
from palindrom.runtime.graph import is_internal, private_schema
from palindrom.runtime.runner import restore_kept_views


def _spark_message(exc: PySparkException) -> str:
    return str(exc).split("\n\nJVM stacktrace:", 1)[0].strip()


def tables(args: argparse.Namespace) -> int:
    """``pipelines tables [NAME]``: every table a pipeline publishes, with its row count, read from
    the tables' files (no Spark: an instant, and while a run holds the storage)."""
    target = choose(args, args.target)
    schema_dir = table_files.folder(args.storage, target.database, "")
    if not schema_dir.is_dir():
        raise UserError(f"'{target.name}' has not run under {args.storage} (no schema {target.database}). "
                        f"Run it first: pipelines run {target.name} --storage {args.storage}")
    folders = {p.name: table_files.readable(args.storage, target.name, target.database, p.name)
               for p in schema_dir.iterdir() if not is_internal(p.name)}
    counts = [(name, table_files.row_count(folder)) for name, folder in sorted(folders.items())
              if table_files.exists(folder)]
    width = max([5, *(len(n) for n, _ in counts)])
    print(f"Tables of '{target.name}' (schema {target.database}):")
    for name, rows in counts:
        print(f"  {name:<{width}}  {rows:>12,}")
    holder = lock.holder(args.storage)
    if holder is not None and not holder.reading:
        print(f"\nAn update is running (`{holder.command}`, since {holder.started}): the counts are what it has "
              "committed so far.")
    example = counts[0][0] if counts else "TABLE"
    print(f"\nQuery one: pipelines query {shlex.quote('SELECT * FROM ' + example + ' LIMIT 10')} "  # noqa: S608 (shown, not run)
          f"--storage {args.storage}")
    return 0


def _restore_kept_views(spark: SparkSession, storage: Path, ran: list[history.KnownPipeline]) -> None:
    """Views an update was killed while refreshing read as their last good contents, as readers of
    the files do (``table_files.readable``): put back before the query, while this command holds
    the storage (not when attached to a server whose updates it cannot see)."""
    holder = lock.holder(storage)
    if holder is None or not holder.reading or holder.pid != os.getpid():
        return
    for known in ran:
        for view in restore_kept_views(spark, storage.resolve(), known.name, known.database):
            print(f"notice: '{view}' got back its last good contents (an update of '{known.name}' was killed while "
                  "refreshing it).", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Unqualified names resolve in the pipeline's schema: the one named by --pipeline, else the
    only pipeline that ran in the storage (then its private schema too)."""
    ran = history.known(args.storage)
    target = choose(args, args.pipeline) if args.pipeline or len(ran) == 1 else None
    ensure_free(args.storage)
    with catalog(args, target.name if target else "") as spark:
        if target is not None:
            if not spark.catalog.databaseExists(target.database):
                raise UserError(f"'{target.name}' has not run under {args.storage} (no schema "
                                f"{target.database}). Run it first: pipelines run {target.name} "
                                f"--storage {args.storage}")
            spark.sql(f"USE `{target.database}`")
        _restore_kept_views(spark, args.storage, ran)
        try:
            df = spark.sql(args.sql)
            rows = [r.asDict(recursive=True) for r in df.collect()]
        except PySparkException as exc:
            message = _spark_message(exc)
            if target is None and len(ran) > 1 and "TABLE_OR_VIEW_NOT_FOUND" in message:
                message += (f"\nStorage {args.storage} holds several pipelines "
                            f"({', '.join(p.name for p in ran)}): pick one with --pipeline NAME, "
                            "or qualify the table with its schema.")
            elif target is not None and "TABLE_OR_VIEW_NOT_FOUND" in message:
                message += f"\nNames resolve in schema {target.database} ('{target.name}'); " \
                           f"private tables are in {private_schema(target.database)}."
            raise UserError(message) from None
        columns = df.columns
    if args.format == "json":
        for row in rows:
            print(json.dumps(row, default=str))
        return 0
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row_cells in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row_cells, widths, strict=True)))
    print(f"({len(rows)} rows)")
    return 0
