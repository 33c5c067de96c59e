"""The storage's local server daemon (runtime/daemon_*.py): commands share one warm server, a killed
command's update is stopped inside it, it ends when idle, and its death ends the command clearly.

Each test starts real ``pipelines`` processes with the daemon on (the rest of the suite runs with it
off, tests/conftest.py) and a daemon JVM of its own; expected tables come from plain Python
(tests/faults/fault_helpers.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from faults import fault_helpers as fh

from palindrom.runtime import daemon_state, jvm_watch
from palindrom.runtime.connect_token import TOKEN_ENV

REPO = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in fh.child_env().items() if k != TOKEN_ENV}  # the daemon makes its own
    return {**env, daemon_state.SWITCH_ENV: "on", **extra}


def _pipelines(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "palindrom.cli.main", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def _state(storage: Path) -> dict[str, Any]:
    state = daemon_state.read(daemon_state.paths(storage))
    assert state is not None
    return state


def _gone(pid: int) -> bool:
    return daemon_state.process_start(pid) is None


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting until {what}"
        time.sleep(0.2)


def test_commands_share_one_warm_server_which_ends_when_idle(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    database = "t_daemon_shared"
    folder = fh.pipeline(tmp_path, database)
    landing = folder / "landing"
    env = _env(**{daemon_state.IDLE_ENV: "20"})

    fh.write_landing(landing, range(2))
    first = _pipelines("run", folder, "--storage", storage, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    state = _state(storage)
    assert "Started the local Spark server" in first.stderr

    fh.write_landing(landing, range(2, 4))
    second = _pipelines("run", folder, "--storage", storage, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Started the local Spark server" not in second.stderr
    query = _pipelines("query", f"SELECT sensor, readings FROM {database}.gold ORDER BY sensor", "--format", "json",
                       "--storage", storage, env=env)
    assert query.returncode == 0, query.stderr[-3000:]
    # one daemon and one JVM served all three commands
    assert (_state(storage)["pid"], _state(storage)["jvmPid"]) == (state["pid"], state["jvmPid"])
    log = daemon_state.paths(storage).log.read_text()
    assert log.count("local Spark server daemon ready") == 1

    want = fh.expected(range(4))
    assert fh.table_rows(storage, database, "bronze", "id,sensor,value") == want["bronze"]
    assert fh.table_rows(storage, database, "silver", "id,sensor,value") == want["silver"]
    assert [json.loads(line) for line in query.stdout.splitlines()] == [
        {"sensor": s, "readings": n} for s, n, _ in want["gold"]]

    # idle for 20 s: it ends, with its JVM, and removes its state (Derby's lock is free again)
    _wait_for(lambda: _gone(state["pid"]) and _gone(state["jvmPid"]), 90, "the idle daemon ended")
    assert daemon_state.read(daemon_state.paths(storage)) is None
    assert "no command used it for 20 s" in daemon_state.paths(storage).log.read_text()


SLOW_PIPELINE = '''
import os, time
import dlt
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

def slow(value):
    if os.path.exists(spark_conf_slow):
        time.sleep(0.3)
    with open(spark_conf_marker, "a") as out:
        out.write(f"{value}\\n")
    return value

spark_conf_slow = spark.conf.get("test.slow")
spark_conf_marker = spark.conf.get("test.marker")

@dlt.table
def bronze():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.maxFilesPerTrigger", "1").schema("id long").load(spark.conf.get("test.landing"))
            .withColumn("id", F.udf(slow, LongType())("id")))

@dlt.table
def total():
    return dlt.read("bronze").agg(F.count("*").alias("n"), F.countDistinct("id").alias("ids"))
'''


def _slow_pipeline(tmp_path: Path, files: int, rows: int) -> tuple[Path, Path, Path]:
    folder = tmp_path / "slow"
    (folder / "transformations").mkdir(parents=True)
    landing, marker, flag = tmp_path / "landing", tmp_path / "marker", tmp_path / "slow.flag"
    (folder / "pipeline.yml").write_text(
        f"name: slow\ndatabase: t_daemon_slow\nconfiguration:\n  test.landing: {landing}\n"
        f"  test.marker: {marker}\n  test.slow: {flag}\n")
    (folder / "transformations" / "flows.py").write_text(SLOW_PIPELINE)
    landing.mkdir()
    for f in range(files):
        (landing / f"part{f:02d}.json").write_text("".join(json.dumps({"id": f * rows + i}) + "\n" for i in range(rows)))
    flag.touch()
    return folder, marker, flag


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_killed_commands_update_is_stopped_in_the_daemon_and_the_next_run_recovers(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    files, rows = 20, 5
    folder, marker, flag = _slow_pipeline(tmp_path, files, rows)
    env = _env()
    client = subprocess.Popen([sys.executable, "-m", "palindrom.cli.main", "run", str(folder), "--storage",
                               str(storage), "--quiet"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _lines(marker) >= 3 * rows, 300, "bronze processed three files")
        state = _state(storage)
        client.kill()  # SIGKILL, as the OOM killer would: the command cannot tell the daemon anything
        client.wait()
        log = daemon_state.paths(storage).log
        _wait_for(lambda: "stopped an update of a command that is gone" in log.read_text(), 60,
                  "the daemon stopped the killed command's update")
        time.sleep(1.0)  # a task already handed to a Python worker may finish its row
        settled = _lines(marker)
        time.sleep(4.0)  # at 0.3 s a row, an update still running would add about 13 lines
        assert _lines(marker) == settled
        assert settled < files * rows, "the update was not stopped: every row went through"
    finally:
        if client.poll() is None:
            client.kill()

    flag.unlink()  # the next run goes at full speed
    again = _pipelines("run", folder, "--storage", storage, "--quiet", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _state(storage)["pid"] == state["pid"]  # the same daemon
    ids = fh.table_rows(storage, "t_daemon_slow", "bronze", "id")
    assert ids == [(i,) for i in range(files * rows)]  # every row once: none lost, none twice
    assert fh.read_table(storage, "t_daemon_slow", "total") == [{"n": files * rows, "ids": files * rows}]

    # Ctrl-C: the command ends at once (closing its session would wait for the update), and the
    # daemon stops the update it leaves behind
    for f in range(files, files + 10):
        (tmp_path / "landing" / f"part{f:02d}.json").write_text(
            "".join(json.dumps({"id": f * rows + i}) + "\n" for i in range(rows)))
    flag.touch()
    before = _lines(marker)
    client = subprocess.Popen([sys.executable, "-m", "palindrom.cli.main", "run", str(folder), "--storage",
                               str(storage), "--quiet"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: _lines(marker) >= before + rows, 120, "the next update processed a file")
    client.send_signal(signal.SIGINT)
    _, err = client.communicate(timeout=20)
    assert client.returncode == 130, err[-2000:]
    _wait_for(lambda: log.read_text().count("stopped an update of a command that is gone") == 2, 30,
              "the daemon stopped the interrupted command's update")
    time.sleep(1.0)
    settled = _lines(marker)
    time.sleep(4.0)
    assert _lines(marker) == settled < before + 10 * rows

    stopped = _pipelines("daemon", "stop", "--storage", storage, env=env)
    assert stopped.returncode == 0 and "Stopped the local Spark server" in stopped.stdout
    assert _gone(state["pid"]) and _gone(state["jvmPid"])


DEATH = """
import json, os, signal, sys
from pathlib import Path
from palindrom.runtime import server
started = server.start(Path(sys.argv[1]))
print("rows", started.session.range(3).count(), flush=True)
state = json.loads((Path(sys.argv[1]) / "daemon" / "state.json").read_text())
os.kill(state["jvmPid"], signal.SIGKILL)   # the daemon's JVM, as the OOM killer would
started.session.range(5).count()           # the client would retry for minutes
print("unreachable", flush=True)
"""


@pytest.mark.timeout(600)
def test_a_daemon_that_dies_under_a_command_ends_it_with_a_clear_error(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    done = subprocess.run([sys.executable, "-c", DEATH, str(storage)], env=_env(), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == jvm_watch.EXIT_CODE, (done.returncode, done.stderr[-3000:])
    assert done.stdout.splitlines() == ["rows 3"]
    assert "the local Spark server daemon (pid" in done.stderr
    assert str(storage / "logs" / "daemon.log") in done.stderr
    errors = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [e["daemonLog"] for e in errors if e["level"] == "ERROR"] == [str(storage / "logs" / "daemon.log")]
    # the daemon itself said why it ended: its JVM was killed
    assert "was killed by signal 9" in (storage / "logs" / "daemon.log").read_text()
    # and the next command starts a new daemon on the same storage
    again = subprocess.run([sys.executable, "-c", DEATH.split("state =")[0], str(storage)], env=_env(),
                           capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0 and again.stdout.splitlines() == ["rows 3"], again.stderr[-3000:]
    assert subprocess.run([sys.executable, "-m", "palindrom.cli.main", "daemon", "stop", "--storage", str(storage)],
                          env=_env(), capture_output=True, text=True, timeout=120, check=False).returncode == 0
