"""One process per storage directory at a time: a second run refuses instead of corrupting
checkpoints, and commands that open the local catalog (embedded Derby allows one JVM) say at once
who holds it instead of waiting on Derby's lock.

The lock file records its holder (pid, command, pipeline, since when) for that message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

LOCK_FILE = ".run.lock"


class StorageBusyError(RuntimeError):
    pass


@dataclass(frozen=True)
class Holder:
    pid: int | None
    command: str
    pipeline: str
    started: str  # ISO 8601, UTC
    reading: bool = False  # a command reading the catalog, not a pipeline update

    def describe(self) -> str:
        since = self.started
        with contextlib.suppress(ValueError):
            started = dt.datetime.fromisoformat(self.started.replace("Z", "+00:00"))
            minutes = int((dt.datetime.now(dt.UTC) - started).total_seconds() // 60)
            since = f"{self.started} ({minutes} min ago)" if minutes else f"{self.started} (under a minute ago)"
        pid = f"pid {self.pid}" if self.pid is not None else "pid unknown"
        return f"`{self.command}` ({pid}, since {since})"


def _read(handle: TextIO) -> Holder:
    text = handle.read().strip()
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid = data.get("pid")
    return Holder(pid=pid if isinstance(pid, int) else None, command=str(data.get("command") or "another process"),
                  pipeline=str(data.get("pipeline") or "?"), started=str(data.get("started") or "unknown time"),
                  reading=data.get("reading") is True)


def holder(storage: Path) -> Holder | None:
    """Who holds ``storage`` now, without waiting; None when it is free."""
    path = storage / LOCK_FILE
    if not path.is_file():
        return None
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def busy_message(storage: Path, found: Holder) -> str:
    what = "another command" if found.reading else "a running pipeline update"
    stop = f" (kill {found.pid})" if found.pid is not None else ""
    return (f"Storage {storage} is in use by {what}: {found.describe()}. Wait for it to finish, "
            f"stop it{stop}, or pass a different --storage.")


@contextlib.contextmanager
def exclusive(storage: Path, pipeline: str, command: str | None = None, reading: bool = False) -> Iterator[None]:
    """Hold ``storage`` for this process; ``command`` (default: this process's arguments) is what
    others are told holds it, and ``reading`` whether it only reads the catalog."""
    storage.mkdir(parents=True, exist_ok=True)
    path = storage / LOCK_FILE
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise StorageBusyError(busy_message(storage, _read(handle))) from None
        handle.seek(0)
        handle.truncate()
        command = command or shlex.join(["pipelines", *sys.argv[1:]])
        handle.write(json.dumps({"pid": os.getpid(), "pipeline": pipeline, "command": command, "reading": reading,
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)

