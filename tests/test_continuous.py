"""`pipelines run --continuous`: updates until Ctrl-C, which lets the current update finish."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from conftest import REPO, rows, touch_later, write_json_lines


class Lines:
    """A subprocess's stdout, line by line, readable with a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: [self._queue.put(line) for line in stream], daemon=True).start()

    def wait_for(self, text: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {timeout}s; saw:\n{''.join(self.seen)}")


def test_continuous_runs_updates_until_ctrl_c_and_finishes_the_current_one(spark, spark_server, pipeline_copy,
                                                                           tmp_path):
    folder, db = pipeline_copy("continuous")
    write_json_lines(folder / "landing" / "1.json", [{"id": 1}, {"id": 2}])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # attaches to the suite's server (PALINDROM_SPARK_REMOTE)
    process = subprocess.Popen(
        [sys.executable, "-m", "palindrom.cli.main", "run", str(folder), "--storage", str(tmp_path / "s"),
         "--continuous", "--interval", "3"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(process)
        assert "2 rows" in lines.wait_for("ticks                            COMPLETED")
        lines.wait_for("COMPLETED in")  # the first update's summary
        touch_later(write_json_lines(folder / "landing" / "2.json", [{"id": 3}]))
        # Ctrl-C while the next update runs: it finishes, prints its summary, and the command exits 0.
        lines.wait_for("ticks                            RUNNING")
        process.send_signal(signal.SIGINT)
        completed = lines.wait_for("ticks                            COMPLETED")
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "1 rows" in completed
    stderr = process.stderr.read()  # type: ignore[union-attr]
    assert "Stopping after the current update" in stderr
    # Structured stream-monitor lines per flow and trigger, with the update's id; alerts at the threshold.
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    monitored = [r for r in logged if r["message"] == "stream monitor" and r["flow"] == "ticks"]
    updates = {r["requestId"] for r in logged if r["message"] == "update completed"}
    assert len(updates) == 2 and {r["requestId"] for r in monitored} == updates
    assert all(r["trigger_execution_ms"] > 0 and r["backlog"] == 0 for r in monitored)
    assert [r["num_input_rows"] for r in monitored] == [2, 1]
    assert all(r["processed_rows_per_second"] > 0 for r in monitored)
    alerts = [r for r in logged if r.get("alert") == "trigger_execution_ms"]
    assert len(alerts) == len(monitored) and alerts[0]["threshold"] == 1 and alerts[0]["level"] == "WARN"
    assert rows(spark, f"SELECT id FROM {db}.ticks ORDER BY id") == [(1,), (2,), (3,)]
