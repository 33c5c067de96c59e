"""What expectations cost: the same silver flow with 0, 10 and 50 warn rules, on one warm server.

A streaming table ``bronze`` over Parquet files (``BENCH_RULE_ROWS``, default 220,000 rows) and a
streaming table ``silver`` reading it with ``@dlt.expect_all`` of N warn rules. Each run is a first
update on fresh storage; the figure is the silver flow's own time (from its start to its completion
as the update reports them), so server start and the bronze flow do not dilute it. The variants
run in turn (0, 10, 50, 0, 10, 50, ...), each ratio is taken against the 0-rule run of the same
round, and the rows each rule failed are checked against plain Python first.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from palindrom.runtime import daemon_state, server, spec
from palindrom.runtime.runner import RunOptions, run_update

RULE_COUNTS = (0, 10, 50)
ROUNDS = 3
PIPELINE = '''import dlt
from pyspark.sql import functions as F

RULES = {rules!r}


@dlt.table
def bronze():
    return spark.readStream.schema("id BIGINT, amount DOUBLE, kind STRING, qty INT").parquet(
        spark.conf.get("bench.landing"))


@dlt.table
@dlt.expect_all(RULES)
def silver():
    return dlt.read_stream("bronze").withColumn("total", F.col("amount") * F.col("qty"))
'''


def rules(count: int) -> dict[str, str]:
    """``count`` distinct warn rules over silver's columns; rule i fails the rows with id % 97 == i % 97."""
    return {f"r{i}": f"id % 97 <> {i % 97} OR amount > {1000 + i}" for i in range(count)}


def land(folder: Path, rows: int) -> list[dict[str, object]]:
    rng = random.Random(11)
    data = [{"id": i, "amount": round(rng.uniform(0, 900), 2), "kind": rng.choice("abcd"), "qty": rng.randint(1, 5)}
            for i in range(rows)]
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(data, pa.schema([("id", pa.int64()), ("amount", pa.float64()),
                                                  ("kind", pa.string()), ("qty", pa.int32())]))
    for part in range(4):
        pq.write_table(table.slice(part * rows // 4, rows // 4 if part < 3 else rows - 3 * (rows // 4)),
                       folder / f"part-{part}.parquet")
    return data


def pipeline_folder(root: Path, count: int, landing: Path, run: str) -> Path:
    """The pipeline with ``count`` rules, under a name (and schema) of its own for each run: the runs
    share one server, hence one metastore."""
    folder = root / f"rules_{count}_{run}"
    folder.mkdir()
    (folder / "silver.py").write_text(PIPELINE.format(rules=rules(count)))
    (folder / "pipeline.yml").write_text(f"name: rules_{count}_{run}\nlibraries:\n  - silver.py\n"
                                         f"configuration:\n  bench.landing: \"{landing}\"\n")
    return folder


def silver_seconds(spark_server: server.Server, folder: Path, storage: Path, data: list[dict[str, object]],
                   count: int) -> float:
    pipeline = spec.resolve(str(folder), "local", storage)
    with server.update_session(spark_server) as session:
        result = run_update(session, pipeline, storage, RunOptions(), spark_server.event_log_dir)
    silver = result.flows["silver"]
    if not result.ok or silver.duration is None or silver.rows != len(data):
        raise SystemExit(f"rules_{count}: update {result.state}, silver {silver}")
    for name, constraint_id in ((n, int(n[1:])) for n in list(rules(count))[:3]):
        failed = sum(1 for r in data if r["id"] % 97 == constraint_id % 97 and not r["amount"] > 1000 + constraint_id)
        counted = next(e for e in result.quality["silver"]["expectations"] if e["name"] == name)
        if counted["failed_records"] != failed:
            raise SystemExit(f"rules_{count}: {name} counted {counted['failed_records']} failures, not {failed}")
    return silver.duration


def main() -> None:
    rows = int(os.environ.get("BENCH_RULE_ROWS", "220000"))
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        root = Path(tmp)
        data = land(root / "landing", rows)
        os.environ[daemon_state.SWITCH_ENV] = "off"  # a server of this process's own, stopped with it
        spark_server = server.start(root / "server")
        warm_up = pipeline_folder(root, 0, root / "landing", "warm_up")
        silver_seconds(spark_server, warm_up, root / "warm-up", data, 0)  # workers and code paths warm
        seconds: dict[int, list[float]] = {n: [] for n in RULE_COUNTS}
        for round_ in range(ROUNDS):
            for n in RULE_COUNTS:
                folder = pipeline_folder(root, n, root / "landing", f"r{round_}")
                seconds[n].append(silver_seconds(spark_server, folder, root / f"s{n}-{round_}", data, n))
    print(f"## Expectations: the silver flow with 0, 10 and 50 warn rules\n\n"
          f"{rows:,} rows, `@dlt.expect_all` warn rules, one warm local server, {ROUNDS} rounds (0, 10, 50 in "
          f"turn), the silver flow's own seconds. Goal (issue 16): <= 1.05 at 10 rules, <= 1.15 at 50.\n\n```")
    print(f"{'rules':>5} {'min s':>8} {'median s':>9} {'max s':>8}   ratio to 0 rules, per round (median)")
    for n in RULE_COUNTS:
        ratios = [s / z for s, z in zip(seconds[n], seconds[0], strict=True)]
        print(f"{n:>5} {min(seconds[n]):8.2f} {statistics.median(seconds[n]):9.2f} {max(seconds[n]):8.2f}   "
              f"{', '.join(f'{r:.2f}' for r in ratios)} ({statistics.median(ratios):.2f})")
    print("```")


if __name__ == "__main__":
    main()
