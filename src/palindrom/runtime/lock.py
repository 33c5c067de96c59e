"""One run per storage directory at a time: a second run refuses instead of corrupting checkpoints."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path


class StorageBusyError(RuntimeError):
    pass


@contextlib.contextmanager
def exclusive(storage: Path, pipeline: str) -> Iterator[None]:
    storage.mkdir(parents=True, exist_ok=True)
    path = storage / ".run.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StorageBusyError(
                f"Storage {storage} is in use by a running pipeline update ({holder}). Wait for it to "
                "finish, stop it, or pass a different --storage."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "pipeline": pipeline,
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def holder(storage: Path) -> dict[str, str] | None:
    """Who holds the storage's run lock (``pid``, ``pipeline``, ``started``), or None when it is free.

    Takes a shared lock for a moment to find out, so it never waits and never blocks a run.
    """
    path = storage / ".run.lock"
    if not path.is_file():
        return None
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            try:
                found = json.loads(text)
            except ValueError:
                found = None
            if not isinstance(found, dict):
                return {"pid": "?", "pipeline": text or "another process", "started": "?"}
            return {key: str(found.get(key, "?")) for key in ("pid", "pipeline", "started")}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
