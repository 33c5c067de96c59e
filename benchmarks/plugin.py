"""Pipeline tests with the plugin against a `pipelines run`, in one process on one server: the first
plugin test of a session (cold: it starts the Spark Connect server), the same one-table, ten-row test
on the warm server, and a `pipelines run` of the same pipeline (starter, its sample files) on that
warm server. Prints the seconds of each, measured in this run (``make bench``)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

from palindrom.cli.main import main
from palindrom.runtime import daemon_state, server
from palindrom.testing import Pipeline

ROWS = [{"order_id": f"o{i}", "customer_id": f"c{i % 3}", "amount": float(i) - 1.0, "quantity": 1,
         "ordered_at": f"2026-11-0{1 + i % 3}T10:00:00"} for i in range(10)]


def one_table_test(spark_server: server.Server, workdir: Path) -> float:
    """The test a data engineer writes: ten bronze rows, silver run, rows and a rule checked."""
    started = time.monotonic()
    pipeline = Pipeline(spark_server, "starter", workdir)
    run = pipeline.given("starter_orders_bronze", rows=ROWS).run(select=["starter_orders_silver"])
    kept = run.rows("starter_orders_silver")
    if len(kept) != sum(1 for r in ROWS if float(str(r["amount"])) > 0):
        raise SystemExit(f"unexpected silver rows: {kept}")
    if run.expectation("starter_orders_silver", "positive_amount").dropped != 2:
        raise SystemExit("unexpected drop count")
    pipeline.close()
    return time.monotonic() - started


def main_bench() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as tmp:
        root = Path(tmp)
        os.environ[daemon_state.SWITCH_ENV] = "off"  # a server of this process's own, stopped with it
        started = time.monotonic()
        spark_server = server.start(root / "server")
        cold = time.monotonic() - started + one_table_test(spark_server, root / "cold")
        warm = one_table_test(spark_server, root / "warm")
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["run", "starter", "--storage", str(root / "run")])
        whole = time.monotonic() - started
        if code != 0:
            raise SystemExit("pipelines run starter failed")
    print(f"plugin test, first of the session (server start) {cold:8.2f} s")
    print(f"plugin test, warm server (10 rows, one table)    {warm:8.2f} s")
    print(f"pipelines run starter, warm server               {whole:8.2f} s")
    print(f"ratio: a warm plugin test takes {warm / whole:.2f}x a pipelines run of the same pipeline")


if __name__ == "__main__":
    main_bench()
