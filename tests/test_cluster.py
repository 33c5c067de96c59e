"""A pipeline on a real Spark cluster: a standalone master and two workers started from pyspark's own
jars, ``pipelines serve --master spark://...`` in front of them, and ``pipelines run --remote``.

The tables must equal what plain Python computes from the landed rows, and both workers must have
run tasks of the update (their executors' logs say so): the update ran on the cluster, not in the
server's JVM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyspark
import pytest

from palindrom.runtime import java, server, table_files

REPO = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).parent

PIPELINE = '''
import dlt
from pyspark.sql import functions as F


@F.udf("string")
def region(code):  # a Python UDF: the executors on the workers start Python workers for it
    return {"n": "north", "s": "south"}.get(code, "other")


@dlt.table
def readings_bronze():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "id long, value long").load(spark.conf.get("test.landing")))


@dlt.table
def readings_silver():
    return dlt.read_stream("readings_bronze").select("id", region("code").alias("region"), "value")


@dlt.table
def readings_by_region():
    return dlt.read("readings_silver").groupBy("region").agg(F.sum("value").alias("total"), F.count("*").alias("n"))
'''


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != server.REMOTE_ENV}
    env.update(SPARK_HOME=str(SPARK_HOME), JAVA_HOME=str(java.ensure().resolve().parents[1]),
               SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1",
               SPARK_CONNECT_AUTHENTICATE_TOKEN=f"cluster-test-{os.getpid()}")
    return env


def _spawn(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, env=_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait(what: str, check: Any, log: Path, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s; log {log}:\n{log.read_text()[-3000:]}")


def _master_state(web_port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/json/", timeout=5) as response:
        return dict(json.load(response))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("cluster")
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, web_port = server.free_port(), server.free_port()
    processes = [_spawn([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                         "--port", str(port), "--webui-port", str(web_port)], root / "master.log")]
    try:
        _wait("the master's web UI", lambda: _master_state(web_port), root / "master.log")
        work_dirs = []
        for number in (1, 2):
            work = root / f"worker-{number}"
            work_dirs.append(work)
            processes.append(_spawn([spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                     "--cores", "1", "--memory", "1g", "--work-dir", str(work),
                                     "--webui-port", str(server.free_port()), f"spark://127.0.0.1:{port}"],
                                    root / f"worker-{number}.log"))
        _wait("two ALIVE workers", lambda: sum(w["state"] == "ALIVE" for w in _master_state(web_port)["workers"]) == 2,
              root / "master.log")
        connect = server.free_port()
        serve_log = root / "serve.log"
        processes.append(_spawn([sys.executable, "-m", "palindrom.cli.main", "serve", "--master",
                                 f"spark://127.0.0.1:{port}", "--port", str(connect), "--storage",
                                 str(root / "server")], serve_log))
        _wait("pipelines serve", lambda: "Serving sc://" in serve_log.read_text(), serve_log)
        yield {"url": f"sc://localhost:{connect}", "web_port": web_port, "work_dirs": work_dirs, "root": root}
    finally:
        for process in reversed(processes):
            _stop(process)


def test_a_pipeline_runs_on_a_standalone_cluster_through_remote(cluster: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "pipeline"
    (folder / "transformations").mkdir(parents=True)
    (folder / "transformations" / "readings.py").write_text(PIPELINE)
    landing = tmp_path / "landing"
    landing.mkdir()
    (folder / "pipeline.yml").write_text(f"name: readings\ndatabase: t_cluster\nconfiguration:\n"
                                         f"  test.landing: \"{landing}\"\n")
    rows = [{"id": i, "code": "nsx"[i % 3], "value": i * 7 % 11} for i in range(300)]
    for part in range(3):
        (landing / f"part-{part}.json").write_text("".join(json.dumps(r) + "\n" for r in rows[part::3]))
    storage = tmp_path / "storage"
    done = subprocess.run([sys.executable, "-m", "palindrom.cli.main", "run", str(folder), "--remote", cluster["url"],
                           "--storage", str(storage), "--quiet"], env=_env(), cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]

    def read(table: str) -> list[dict[str, Any]]:
        return table_files.read(table_files.folder(storage, "t_cluster", table)).to_pylist()

    assert sorted(r["id"] for r in read("readings_bronze")) == list(range(300))
    names = {"n": "north", "s": "south"}
    assert sorted((r["id"], r["region"], r["value"]) for r in read("readings_silver")) == \
        sorted((r["id"], names.get(r["code"], "other"), r["value"]) for r in rows)
    expected: dict[str, tuple[int, int]] = {}
    for r in rows:
        total, count = expected.get(names.get(r["code"], "other"), (0, 0))
        expected[names.get(r["code"], "other")] = (total + r["value"], count + 1)
    assert {r["region"]: (r["total"], r["n"]) for r in read("readings_by_region")} == expected

    # Both workers' executors ran tasks of this update (each worker has one core, so one executor).
    state = _master_state(cluster["web_port"])
    assert [w["coresused"] for w in state["workers"]] == [1, 1]
    for work in cluster["work_dirs"]:
        logs = list(Path(work).glob("app-*/*/stderr"))
        assert logs, f"no executor started under {work}"
        assert any("Finished task" in log.read_text(errors="replace") for log in logs), f"no task ran under {work}"


def test_serve_makes_a_token_only_its_owner_reads_and_never_prints_it(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from palindrom.cli import serve_cmd

    monkeypatch.delenv(serve_cmd.TOKEN_ENV, raising=False)
    told = serve_cmd._token(tmp_path)
    token = (tmp_path / "connect-token").read_text()
    assert len(token) >= 40 and os.environ[serve_cmd.TOKEN_ENV] == token
    assert (tmp_path / "connect-token").stat().st_mode & 0o777 == 0o600
    assert token not in told and str(tmp_path / "connect-token") in told
    assert serve_cmd._token(tmp_path) == f" and the same {serve_cmd.TOKEN_ENV}"  # the environment's is kept
