"""`pipelines run` against plain `spark-pipelines run` of the same files: a two-table pipeline in the
open-source `dp` API (a streaming table over JSON files, a materialized view aggregating it), the same
landed rows, a Hive catalog on embedded Derby for both. Two figures, each measured side by side by
farm-bench (A and B in turn, the ratio taken pair by pair):

* a cold update: a fresh storage folder for every run (ours starts the storage's server daemon, as
  a first command does; plain SDP starts its JVM, as always);
* a warm update: every row again (``--full-refresh-all``) on the server daemon an earlier update
  left, against plain SDP's cold update of the same rows (it has no server to keep warm);
* an update with no new data, and one with one new file (ours), against a plain no-op.

A's user/sys/cpu seconds count the command only: the server daemon is not its child. Compare wall.

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
    """The pipeline folder: its code, our pipeline.yml and spark-pipelines' spark-pipeline.yml. Ours
    reads a copy of the landed files (``landing-ours``), so new files for it leave plain's alone."""
    folder = root / "bench"
    (folder / "transformations").mkdir(parents=True)
    (folder / "transformations" / "bench.py").write_text(PIPELINE)
    land(root / "landing", rows)
    shutil.copytree(root / "landing", root / "landing-ours")
    (root / "extra.json").write_text((root / "landing" / "part-0.json").read_text().splitlines()[0] + "\n")
    (folder / "pipeline.yml").write_text(f"name: bench\ndatabase: bench\nlibraries:\n  - transformations/**\n"
                                         f"configuration:\n  bench.landing: \"{root / 'landing-ours'}\"\n")
    (folder / "spark-pipeline.yml").write_text(
        f"name: bench\nstorage: \"{(root / 'plain' / 'checkpoints').as_uri()}\"\n"
        f"configuration:\n  bench.landing: \"{root / 'landing'}\"\nlibraries:\n  - glob:\n"
        f"      include: transformations/**\n")
    return folder


def ours(folder: Path, storage: Path, *options: str) -> str:
    return " ".join([f"{VENV_BIN / 'pipelines'} run {folder} --storage {storage} --quiet", *options])


def one_new_file(command: str, root: Path) -> str:
    """Shell text: land one more file (one row) for ours, then ``command``."""
    return f"cp {root / 'extra.json'} {root / 'landing-ours'}/new-$$-$(date +%s%N).json && {command}"


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
        plain_cold = fresh(plain(folder, b_storage), b_storage, checkpoints)
        cold = bench(fresh(ours(folder, a_storage), a_storage), plain_cold, args.runs, 3000)
        for text in (fresh(ours(folder, a_storage), a_storage), plain_cold):
            subprocess.run(["sh", "-c", text], check=True, capture_output=True)
        warm = bench(again(ours(folder, a_storage, "--full-refresh-all"), a_storage), plain_cold, args.runs, 3000)
        subprocess.run(["sh", "-c", plain_cold], check=True, capture_output=True)
        noop = bench(again(ours(folder, a_storage), a_storage), again(plain(folder, b_storage), b_storage),
                     args.runs, 3000)
        new_file = bench(one_new_file(again(ours(folder, a_storage), a_storage), root),
                         again(plain(folder, b_storage), b_storage), args.runs, 3000)
        print(f"## Updates: `pipelines run` (A) against plain `spark-pipelines run` (B)\n\n"
              f"Two-table `dp` pipeline, {args.rows:,} JSON rows in 4 files, Hive catalog on Derby for both, "
              f"{args.runs} paired runs after one warm-up. Goal (issue 16): A/B wall <= 0.5 warm, <= 0.3 with no "
              f"new data. A's user/sys/cpu count the command only (the server daemon is not its child): compare "
              f"wall.\n\n### Cold update (fresh storage each run: A starts the storage's server daemon)\n\n"
              f"```\n{cold}\n```\n\n"
              f"### Warm update: every row again (A `--full-refresh-all` on the warm daemon, B cold)\n\n"
              f"```\n{warm}\n```\n\n"
              f"### Update with no new data (both on the storage of an earlier update)\n\n```\n{noop}\n```\n\n"
              f"### Update with one new file (A: one more file, one row; B: plain no-op)\n\n```\n{new_file}\n```\n")
    finally:
        subprocess.run([str(VENV_BIN / "pipelines"), "daemon", "stop", "--storage", str(root / "ours")],
                       capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
