"""Attaching a command to its storage's server daemon, starting the daemon on demand (``daemon_state``).

``attach`` holds ``users.lock`` shared for the rest of the process (the daemon stays while any
command holds it), and under ``spawn.lock`` reuses the running daemon, or starts one, or replaces one
started in another environment. ``stop`` ends a storage's daemon: ``pipelines daemon stop``, and
every command that starts a server of its own there (the storage's Derby metastore admits one JVM).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filelock import FileLock

from palindrom.runtime import daemon_state, jvm_watch
from palindrom.runtime.connect_token import TOKEN_ENV

START_TIMEOUT_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 90.0
_held: list[IO[str]] = []  # users.lock, held shared until the process ends


class DaemonError(RuntimeError):
    """The daemon did not start, or ended while starting; the message names its log."""


@dataclass(frozen=True)
class Attached:
    url: str
    pid: int
    start: int
    started_now: bool  # this command started it
    files: daemon_state.Paths


def attach(storage: Path) -> Attached:
    """The storage's daemon, started if none runs; sets the Connect token for this process."""
    files = daemon_state.paths(storage)
    files.folder.mkdir(parents=True, exist_ok=True)
    files.log.parent.mkdir(parents=True, exist_ok=True)
    users = files.users.open("a")
    fcntl.flock(users, fcntl.LOCK_SH)  # waits while a daemon is ending (it holds the lock exclusively)
    _held.append(users)
    os.utime(files.users)  # when a command last attached (pipelines daemon status)
    with FileLock(str(files.spawn)):
        state = daemon_state.running(files)
        started_now = False
        if state is not None and state.get("fingerprint") != daemon_state.fingerprint():
            _end(files, state)
            state = None
        if state is None:
            state = _spawn(files)
            started_now = True
    os.environ[TOKEN_ENV] = files.token.read_text().strip()
    return Attached(str(state["url"]), int(state["pid"]), int(state["start"]), started_now, files)


def wait_for_sweep(files: daemon_state.Paths, since: float, timeout: float = 60.0) -> None:
    """Until the daemon has swept after ``since``: no update of a command that is gone still runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if float(files.sweep.read_text()) > since:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise DaemonError(f"the local Spark server daemon did not check for unfinished updates within {timeout:g} s; "
                      f"its log: {files.log}. Stop it (pipelines daemon stop) and run again.")


def stop(storage: Path) -> bool:
    """End the storage's daemon if one runs; True when there was one."""
    files = daemon_state.paths(storage)
    state = daemon_state.running(files)
    if state is None or int(state["pid"]) == os.getpid():
        return False
    _end(files, state)
    return True


def _end(files: daemon_state.Paths, state: dict[str, Any]) -> None:
    pid, start = int(state["pid"]), int(state["start"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while daemon_state.alive(pid, start):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            jvm = state.get("jvmPid")
            if isinstance(jvm, int):
                os.kill(jvm, signal.SIGKILL)
            break
        time.sleep(0.1)


def _spawn(files: daemon_state.Paths) -> dict[str, Any]:
    """Start the daemon and wait until it is ready."""
    env = {**os.environ, daemon_state.SWITCH_ENV: "off"}  # the daemon starts its own server
    env.pop(TOKEN_ENV, None)
    with files.log.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603  # this interpreter, this package's module
            [sys.executable, "-m", "palindrom.runtime.daemon_process", str(files.storage)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        state = daemon_state.read(files)
        if state is not None and state.get("pid") == process.pid:
            return state
        if process.poll() is not None:
            raise DaemonError(f"the local Spark server daemon exited with code {process.returncode} while "
                              f"starting; its log: {files.log}\n{_tail(files.log)}")
        time.sleep(0.1)
    process.kill()
    raise DaemonError(f"the local Spark server daemon did not start within {START_TIMEOUT_SECONDS:g} s; "
                      f"its log: {files.log}\n{_tail(files.log)}")


def _tail(path: Path) -> str:
    return "\n".join("  " + line for line in jvm_watch.last_lines(path))
