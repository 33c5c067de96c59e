"""The local server's JVM dies under a command that still needs it: the command says so and exits at
once (runtime/jvm_watch.py), instead of the Spark Connect client retrying for minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from palindrom.runtime import jvm_watch

SCRIPT = """
import os, signal, sys
from pathlib import Path
from pyspark import SparkContext
from palindrom.runtime import server
started = server.start(Path(sys.argv[1]))
print("rows", started.session.range(3).count(), flush=True)
os.kill(SparkContext._gateway.proc.pid, signal.SIGKILL)   # the JVM, as the OOM killer would
started.session.range(5).count()                          # the client would retry for minutes
print("unreachable", flush=True)
"""


def test_a_killed_server_jvm_ends_the_command_with_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PALINDROM_SPARK_REMOTE"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "storage")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == jvm_watch.EXIT_CODE, (done.returncode, done.stderr[-3000:])
    assert done.stdout.splitlines() == ["rows 3"]
    assert "the local Spark server (JVM, pid" in done.stderr
    assert "was killed by signal 9" in done.stderr
    assert str(tmp_path / "storage" / "logs" / "jvm.log") in done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    errors = [r for r in records if r["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["exitCode"] == -9
    assert {"timestamp", "level", "message", "requestId", "service", "environment"} <= errors[0].keys()


def test_the_message_names_the_crash_report_and_the_last_log_lines(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "jvm.log").write_text("".join(f"line {i}\n" for i in range(1, 21)))
    (logs / "hs_err_pid4242.log").write_text("# A fatal error has been detected\n")
    message, fields = jvm_watch.describe(134, 4242, logs, lines=3)
    assert "exited with code 134" in message
    assert f"its crash report: {logs / 'hs_err_pid4242.log'}" in message
    assert message.endswith("last lines of its log:\n  line 18\n  line 19\n  line 20")
    assert fields == {"exitCode": 134, "pid": 4242, "jvmLog": str(logs / "jvm.log"),
                      "crashReport": str(logs / "hs_err_pid4242.log")}
    assert "crash report" not in jvm_watch.describe(1, 7, tmp_path / "absent")[0]
