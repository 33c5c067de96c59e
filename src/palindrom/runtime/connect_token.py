"""The Spark Connect server's token: the variable clients read it from, and the owner-only file a
server that others attach to (``pipelines serve``, the storage's daemon) leaves it in."""

from __future__ import annotations

import os
from pathlib import Path

TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"  # noqa: S105  # the variable's name, not a token


def write(path: Path, token: str) -> None:
    """``token`` in a new file at ``path`` that only its owner can read."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
