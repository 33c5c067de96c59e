"""``pipelines query``: Spark SQL over the local tables."""

from __future__ import annotations

import argparse
import json
import os
import sys

from pyspark.errors import PySparkException

from palindrom.runtime import server


def run(args: argparse.Namespace) -> int:
    attached = server.current() is not None or server.REMOTE_ENV in os.environ
    if not attached and not (args.storage / "metastore_db").exists():
        print(f"error: no local catalog under {args.storage}; run a pipeline first.", file=sys.stderr)
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
