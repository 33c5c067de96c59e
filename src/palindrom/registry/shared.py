"""The registry verdict an update's processes share.

A pipeline update looks schemas up from many processes: the driver while definitions load, then
every Python worker Spark starts, each building its registry from the configuration. Without a
shared verdict each of them would find a hanging registry on its own (one deadline each) and log
its own warning. ``UpdateVerdict`` is a small JSON file per update and registry URL under a
directory on the machine (``palindrom.registry.state_dir``, default ``<tmp>/palindrom-registry``):

* a process holds the file's lock (``filelock``: an OS lock, released if the process dies) while
  it asks the registry, so at most one lookup of an update waits on a registry that does not answer;
* the process whose lookup fails records why and logs the one warning of the update; every
  process that finds the record goes to the lockfile at once, silently.

The update is named by ``palindrom.registry.update_key``: set by the runtime for each update, else
one key per driver process (``registry.pipeline``). The verdict holds for the rest of the update; a
new update asks the registry again. Processes on other machines (Databricks executors) share it
only through a directory they all see; with a local one each machine pays at most one deadline.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import filelock

from palindrom.registry.errors import RegistryUnavailable

KEEP_SECONDS = 7 * 86_400   # files of older updates are removed when a verdict is written


def default_directory() -> Path:
    return Path(tempfile.gettempdir()) / "palindrom-registry"


class UpdateVerdict:
    def __init__(self, directory: Path, update: str, url: str, wait: float) -> None:
        key = hashlib.sha256(f"{update}\n{url}".encode()).hexdigest()[:24]
        self.directory = directory
        self.path = directory / f"update-{key}.json"
        self.wait = wait
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = filelock.FileLock(str(directory / f"update-{key}.lock"))

    @contextlib.contextmanager
    def exclusive(self) -> Generator[None]:
        """Held while this process asks the registry, or reads the verdict."""
        try:
            self._lock.acquire(timeout=self.wait)
        except filelock.Timeout:
            raise RegistryUnavailable(f"another process of this update has been asking the registry for over "
                                      f"{self.wait:g} s (lock {self._lock.lock_file})") from None
        try:
            yield
        finally:
            self._lock.release()

    def read(self) -> dict[str, Any] | None:
        """The recorded verdict: ``{"unavailable_since", "reason", "pid"}``, or None."""
        try:
            found: dict[str, Any] = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return found

    def record(self, reason: str) -> None:
        """Write the verdict atomically (readers see the whole file or none), then prune old ones."""
        partial = self.path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"unavailable_since": time.time(), "reason": reason, "pid": os.getpid()}))
        partial.replace(self.path)
        self._prune()

    def _prune(self) -> None:
        """Remove the verdicts and locks of updates older than KEEP_SECONDS; a lock only while no
        process holds it."""
        for old in self.directory.glob("update-*.json"):
            with contextlib.suppress(OSError):
                if old != self.path and time.time() - old.stat().st_mtime > KEEP_SECONDS:
                    old.unlink()
        for old in self.directory.glob("update-*.lock"):
            if str(old) == self._lock.lock_file:
                continue
            with contextlib.suppress(OSError, filelock.Timeout):
                if time.time() - old.stat().st_mtime > KEEP_SECONDS:
                    with filelock.FileLock(str(old)).acquire(timeout=0):
                        old.unlink()
