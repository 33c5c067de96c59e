"""``pipelines query``: Spark SQL over the local tables."""

from __future__ import annotations

import argparse
import json
import os
import sys

from pyspark.errors import PySparkException

from palindrom.runtime import server, spec
from palindrom.runtime.graph import is_internal


def _catalog_exists(args: argparse.Namespace) -> bool:
    attached = server.current() is not None or server.REMOTE_ENV in os.environ
    if not attached and not (args.storage / "metastore_db").exists():
        print(f"error: no local catalog under {args.storage}; run a pipeline first.", file=sys.stderr)
        return False
    return True


def tables(args: argparse.Namespace) -> int:
    """``pipelines tables [NAME]``: every table a pipeline publishes, with its row count."""
    try:
        pipeline = spec.resolve(args.target, args.env, args.storage)
    except spec.ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not _catalog_exists(args):
        return 2
    spark = server.start(args.storage).session
    names = sorted(r[1] for r in spark.sql(f"SHOW TABLES IN `{pipeline.database}`").collect()
                   if not r[2] and not is_internal(r[1]))
    counts = [(name, spark.table(f"`{pipeline.database}`.`{name}`").count()) for name in names]
    width = max([5, *(len(n) for n, _ in counts)])
    print(f"Tables of '{pipeline.name}' (schema {pipeline.database}):")
    for name, rows in counts:
        print(f"  {name:<{width}}  {rows:>12,}")
    return 0


def run(args: argparse.Namespace) -> int:
    if not _catalog_exists(args):
        return 2
    spark = server.start(args.storage).session
    try:
        df = spark.sql(args.sql)
        rows = [r.asDict(recursive=True) for r in df.collect()]
    except PySparkException as exc:
        print(f"error: {str(exc).split(chr(10) + chr(10) + 'JVM stacktrace:', 1)[0]}", file=sys.stderr)
        return 1
    if args.format == "json":
        for row in rows:
            print(json.dumps(row, default=str))
        return 0
    columns = df.columns
    cells = [[str(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row_cells in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row_cells, widths, strict=True)))
    print(f"({len(rows)} rows)")
    return 0
