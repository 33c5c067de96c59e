"""`pipelines run` against plain `spark-pipelines run` of the same files: a two-table pipeline in the
open-source `dp` API (a streaming table over JSON files, a materialized view aggregating it), the same
landed rows, a Hive catalog on embedded Derby for both. Two figures, each measured side by side by
farm-bench (A and B in turn, the ratio taken pair by pair):

* a cold update: a fresh storage folder for every run (JVM start, catalog creation, all rows);
* an update with no new data: the storage of one earlier update, run again.

``python -m benchmarks.updates [--rows N] [--runs N]`` prints a Markdown section (``make bench``
collects it into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
PIPELINE = '''from pyspark import pipelines as dp
from pyspark.sql import functions as F


@dp.table
def events():
    return (spark.readStream.format("json").schema("id BIGINT, kind STRING, amount DOUBLE")
            .load(spark.conf.get("bench.landing")))


@dp.materialized_view
def totals():
    return spark.read.table("events").groupBy("kind").agg(F.count("*").alias("n"), F.sum("amount").alias("amount"))
'''


def land(folder: Path, rows: int, files: int = 4) -> None:
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)
    per_file = rows // files
    for number in range(files):
        lines = (json.dumps({"id": number * per_file + i, "kind": rng.choice("abcde"), "amount": rng.random()})
                 for i in range(per_file))
        (folder / f"part-{number}.json").write_text("\n".join(lines) + "\n")


def pipeline(root: Path, rows: int) -> Path:
    """The pipeline folder: its code, our pipeline.yml and spark-pipelines' spark-pipeline.yml."""
    folder = root / "bench"
    (folder / "transformations").mkdir(parents=True)
    (folder / "transformations" / "bench.py").write_text(PIPELINE)
    land(root / "landing", rows)
    (folder / "pipeline.yml").write_text(f"name: bench\ndatabase: bench\nlibraries:\n  - transformations/**\n"
                                         f"configuration:\n  bench.landing: \"{root / 'landing'}\"\n")
    (folder / "spark-pipeline.yml").write_text(
        f"name: bench\nstorage: \"{(root / 'plain' / 'checkpoints').as_uri()}\"\n"
        f"configuration:\n  bench.landing: \"{root / 'landing'}\"\nlibraries:\n  - glob:\n"
        f"      include: transformations/**\n")
    return folder


def ours(folder: Path, storage: Path) -> str:
    return f"{VENV_BIN / 'pipelines'} run {folder} --storage {storage} --quiet"


def plain(folder: Path, storage: Path) -> str:
    """spark-pipelines with a Hive catalog (Derby) and warehouse in its own folder, like ours. Its
    options follow the subcommand (SparkPipelines hands them to spark-submit); its tables go to the
    `default` database, which plain SDP needs to exist (ours creates `bench`)."""
    connection = f"jdbc:derby:;databaseName={storage / 'metastore'};create=true"
    return (f"env PATH={VENV_BIN}:$PATH {VENV_BIN / 'spark-pipelines'} run --spec {folder / 'spark-pipeline.yml'} "
            f"--conf spark.sql.catalogImplementation=hive --conf spark.sql.warehouse.dir={storage / 'warehouse'} "
            f"--conf 'spark.hadoop.javax.jdo.option.ConnectionURL={connection}' "
            f"--conf spark.driver.extraJavaOptions=-Dderby.system.home={storage}")


def fresh(command: str, storage: Path, *also: Path) -> str:
    """Shell text: ``command`` in an emptied ``storage`` (and ``also`` removed): a cold update."""
    removed = " ".join(str(p) for p in (storage, *also))
    return f"rm -rf {removed} && mkdir -p {storage} && cd {storage} && exec {command}"


def again(command: str, storage: Path) -> str:
    """Shell text: ``command`` on the storage an earlier update left."""
    return f"cd {storage} && exec {command}"


def bench(a: str, b: str, runs: int, timeout: int) -> str:
    """farm-bench's report of shell texts A and B run in turn."""
    result = subprocess.run(["farm-bench", "-n", str(runs), "--warmup", "1", "--timeout", str(timeout),
                             "--vs", f"sh -c {shlex.quote(b)}", "--", "sh", "-c", a],
                            capture_output=True, text=True, check=False)
    return (result.stdout + result.stderr).strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-updates-"))
    try:
        folder = pipeline(root, args.rows)
        a_storage, b_storage = root / "ours", root / "plain" / "storage"
        checkpoints = root / "plain" / "checkpoints"
        cold = bench(fresh(ours(folder, a_storage), a_storage),
                     fresh(plain(folder, b_storage), b_storage, checkpoints), args.runs, 3000)
        first = (fresh(ours(folder, a_storage), a_storage), fresh(plain(folder, b_storage), b_storage, checkpoints))
        for text in first:
            subprocess.run(["sh", "-c", text], check=True, capture_output=True)
        noop = bench(again(ours(folder, a_storage), a_storage), again(plain(folder, b_storage), b_storage),
                     args.runs, 3000)
        print(f"## Updates: `pipelines run` (A) against plain `spark-pipelines run` (B)\n\n"
              f"Two-table `dp` pipeline, {args.rows:,} JSON rows in 4 files, Hive catalog on Derby for both, "
              f"{args.runs} paired runs after one warm-up. Goal (issue 16): A/B wall <= 0.5 warm, <= 0.3 with no "
              f"new data.\n\n### Cold update (fresh storage each run)\n\n```\n{cold}\n```\n\n"
              f"### Update with no new data\n\n```\n{noop}\n```\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
