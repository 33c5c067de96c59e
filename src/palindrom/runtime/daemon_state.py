"""The local server daemon's files, shared by the daemon and its clients.

Every local command used to start a Spark server JVM of its own (JVM, Connect server, the Hive
metastore's first access: 10-20 s before the first flow). Instead, the first command on a storage
starts a server daemon for it (``daemon_process``); later commands attach to it (``daemon_client``)
until it has been idle for ``PALINDROM_DAEMON_IDLE_SECONDS`` (default 15 minutes). Its files live in
``<storage>/daemon/``:

* ``state.json``: the daemon's pid and start time, its URL, and the fingerprint of the environment it
  was started in (interpreter, working directory, extension jar, class archive); a client whose
  fingerprint differs replaces the daemon rather than run on a server unlike the one it would start.
* ``token``: the Connect server's token, readable by the owner only.
* ``users.lock``: each client holds a shared lock on it while attached; the daemon counts as idle
  while it can take the lock exclusively.
* ``spawn.lock``: held while a client checks for a daemon and starts one.
* ``sweep``: when the daemon last began a sweep for sessions of clients that are gone (see
  ``daemon_process``); a client waits for a sweep that began after it attached.

``PALINDROM_DAEMON=off`` starts a server per command as before (the test suite does, and so do
``pipelines serve`` and the class archive's training run, which need a server of their own).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palindrom import sparkext
from palindrom.runtime import class_archive

SWITCH_ENV = "PALINDROM_DAEMON"
IDLE_ENV = "PALINDROM_DAEMON_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 900.0
CLIENT_PREFIX = "palindrom-client"
_CLIENT = re.compile(rf"^{CLIENT_PREFIX}-(?P<pid>\d+)-(?P<start>\d+)$")


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "on").strip().lower() not in {"off", "0", "false", "no"}


def idle_seconds() -> float:
    text = os.environ.get(IDLE_ENV, "")
    try:
        return max(float(text), 0.0) if text else DEFAULT_IDLE_SECONDS
    except ValueError:
        raise ValueError(f"{IDLE_ENV}={text!r}: give the idle time in seconds, e.g. {IDLE_ENV}=600") from None


@dataclass(frozen=True)
class Paths:
    storage: Path

    @property
    def folder(self) -> Path:
        return self.storage / "daemon"

    @property
    def state(self) -> Path:
        return self.folder / "state.json"

    @property
    def token(self) -> Path:
        return self.folder / "token"

    @property
    def users(self) -> Path:
        return self.folder / "users.lock"

    @property
    def spawn(self) -> Path:
        return self.folder / "spawn.lock"

    @property
    def sweep(self) -> Path:
        return self.folder / "sweep"

    @property
    def log(self) -> Path:
        return self.storage / "logs" / "daemon.log"


def paths(storage: Path) -> Paths:
    return Paths(storage.resolve())


def fingerprint() -> dict[str, str]:
    """What the server a command would start depends on, besides the storage."""
    return {"python": sys.executable, "cwd": os.getcwd(), "extension": str(sparkext.jar()),
            "classArchive": "on" if class_archive.enabled() else "off"}


def process_start(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return None if fields[0] in {"Z", "X"} else int(fields[19])


def alive(pid: int, start: int) -> bool:
    """Process ``pid`` is the one that started at ``start`` and still runs (not a reused pid)."""
    return process_start(pid) == start


def client_id() -> str:
    """This process as a Connect user id: the daemon stops its sessions once it is gone."""
    pid = os.getpid()
    return f"{CLIENT_PREFIX}-{pid}-{process_start(pid)}"


def gone_client(user_id: str) -> bool:
    """``user_id`` names a client process (``client_id``) that no longer runs."""
    match = _CLIENT.match(user_id)
    return match is not None and not alive(int(match["pid"]), int(match["start"]))


def read(files: Paths) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(files.state.read_text())
        if isinstance(data, dict):
            return data
    return None


def write(files: Paths, state: dict[str, Any]) -> None:
    temporary = files.state.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2))
    temporary.replace(files.state)


def running(files: Paths) -> dict[str, Any] | None:
    """The state of the storage's daemon when its process still runs."""
    state = read(files)
    if state is None:
        return None
    try:
        return state if alive(int(state["pid"]), int(state["start"])) else None
    except (KeyError, TypeError, ValueError):
        return None
