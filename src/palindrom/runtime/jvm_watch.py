"""The local server's JVM, watched: when it ends while this process still needs it (a JVM crash, the
OOM killer, a ``kill``), the process says so and ends at once.

Without this, the Spark Connect client keeps retrying against a server that is gone, with back-off,
for many minutes: a run, a test or the UI looks hung and says nothing. Instead, the terminal and the
JSON log name the exit code, the JVM's own log (``<storage>/logs/jvm.log``) with its last lines and
the JVM's crash report when it wrote one (``-XX:ErrorFile`` points it at the same folder), and the
process exits with ``EXIT_CODE``. The storage's lock goes with the process; the next plain run
recovers as from any killed update.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from palindrom.logs import JsonLogger

EXIT_CODE = 70  # EX_SOFTWARE: an internal component failed
# A JVM killed together with this process (a power cut, the fault suite's kills) is followed by this
# process's own end within microseconds; only an exit that outlives the grace is reported.
GRACE_SECONDS = 1.0
POLL_SECONDS = 0.5  # how often a client checks that its daemon still runs
_expected = threading.Event()


def expect_exit() -> None:
    """The JVM is about to end because this process asked it to (or this process is ending)."""
    _expected.set()


def crash_report_option(logs: Path) -> str:
    """JVM option: a fatal error's report (``hs_err_pid<pid>.log``) in the log folder, not the cwd."""
    return f"-XX:ErrorFile={logs / 'hs_err_pid%p.log'}"


def watch(process: subprocess.Popen[bytes], logs: Path) -> None:
    """Watch the server JVM ``process`` (this process's child) from a daemon thread."""
    _arm()
    threading.Thread(target=_wait, args=(process, logs), name="palindrom-jvm-watch", daemon=True).start()


def watch_daemon(running: Callable[[], bool], pid: int, logs: Path) -> None:
    """Watch the storage's server daemon (process ``pid``, not this process's child) while
    ``running()`` says it still runs."""
    _arm()

    def wait() -> None:
        while running():
            time.sleep(POLL_SECONDS)
        if not _expected.wait(GRACE_SECONDS):
            _fail(*describe_daemon(pid, logs))

    threading.Thread(target=wait, name="palindrom-daemon-watch", daemon=True).start()


def _arm() -> None:
    _expected.clear()
    atexit.register(expect_exit)  # registered after pyspark's hooks, so it runs before them


def last_lines(log: Path, lines: int = 8) -> list[str]:
    """The last ``lines`` lines of a log file; none when it cannot be read."""
    try:
        return log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def _wait(process: subprocess.Popen[bytes], logs: Path) -> None:
    code = process.wait()
    if not _expected.wait(GRACE_SECONDS):
        _fail(*describe(code, process.pid, logs))


def _fail(message: str, fields: dict[str, object]) -> None:
    sys.stderr.write(f"\nerror: {message}\n")
    sys.stderr.flush()
    JsonLogger(os.environ.get("PALINDROM_ENVIRONMENT", "local")).error(message, **fields)
    os._exit(EXIT_CODE)


def describe_daemon(pid: int, logs: Path, lines: int = 8) -> tuple[str, dict[str, object]]:
    """What to tell the user about a server daemon that ended under a command."""
    log = logs / "daemon.log"
    tail = last_lines(log, lines)
    message = (f"the local Spark server daemon (pid {pid}) ended while this command still needed it; its log: "
               f"{log}, its JVM's: {logs / 'jvm.log'}. Nothing was lost: the next plain run starts a new one "
               "and recovers the storage.")
    if tail:
        message += "\nlast lines of its log:\n  " + "\n  ".join(tail)
    return message, {"pid": pid, "daemonLog": str(log), "jvmLog": str(logs / "jvm.log")}


def describe(code: int, pid: int, logs: Path, lines: int = 8) -> tuple[str, dict[str, object]]:
    """What to tell the user about a JVM that ended with ``code``: the message and its log fields."""
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    log = logs / "jvm.log"
    tail = last_lines(log, lines)
    report = logs / f"hs_err_pid{pid}.log"
    where = f"its crash report: {report}; " if report.is_file() else ""
    message = (f"the local Spark server (JVM, pid {pid}) {how} while this command still needed it; "
               f"{where}its log: {log}. Nothing was lost: the next plain run recovers the storage.")
    if tail:
        message += "\nlast lines of its log:\n  " + "\n  ".join(tail)
    return message, {"exitCode": code, "pid": pid, "jvmLog": str(log),
                     "crashReport": str(report) if report.is_file() else None}
