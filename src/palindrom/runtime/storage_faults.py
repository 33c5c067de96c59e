"""Disk full, permission denied, read-only file system: one sentence an operator can act on.

Such a fault reaches the runner as a Python ``OSError`` (the storage lock, journals, snapshots) or
as the text of a Java exception (Spark writing checkpoints, tables, the metastore). Both are
recognised here by errno or by the operating system's own wording, which Java passes on
(``java.io.IOException: No space left on device``); the path is taken from the exception when it
names one, else the storage folder is named.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import shutil
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

_KINDS = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full", errno.EACCES: "permission denied",
          errno.EPERM: "permission denied", errno.EROFS: "read-only"}
_WORDING = [("No space left on device", "disk full"), ("Disk quota exceeded", "disk full"),
            ("Permission denied", "permission denied"), ("Read-only file system", "read-only")]
_PATH = re.compile(r"(?:file:)?(/[^\s'\"(),:]+)")


@dataclass(frozen=True)
class StorageFault:
    kind: str  # "disk full" | "permission denied" | "read-only"
    path: Path

    def message(self) -> str:
        if self.kind == "disk full":
            free = _free(self.path)
            return (f"The disk holding {self.path} is full ({free} free). Free space on it, or run with "
                    "--storage on a disk with room, then run the pipeline again: it resumes where this "
                    "update stopped (nothing this update half-wrote is visible; tables keep their last "
                    "complete contents).")
        if self.kind == "read-only":
            return (f"{self.path} is on a read-only file system. Run with --storage on a writable disk, "
                    "or remount it read-write, then run the pipeline again.")
        return (f"Permission denied writing {self.path}. Give your user write access (for example "
                f"`chmod -R u+w {self.path}`) or run with --storage in a folder you own, then run the "
                "pipeline again.")


def _free(path: Path) -> str:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return f"{shutil.disk_usage(candidate).free / 1e6:.1f} MB"
    return "unknown"


def from_os_error(exc: BaseException, storage: Path) -> StorageFault | None:
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in _KINDS:
            return StorageFault(_KINDS[error.errno], Path(error.filename) if error.filename else storage)
    return None


def from_text(text: str, storage: Path) -> StorageFault | None:
    """A storage fault named in an error's text (Spark's), with the path it names under ``storage``."""
    for wording, kind in _WORDING:
        at = text.find(wording)
        if at < 0:
            continue
        line_start = text.rfind("\n", 0, at) + 1
        line_end = text.find("\n", at)
        line = text[line_start: line_end if line_end >= 0 else len(text)]
        # The path: on the line naming the fault, else the first under the storage the text names
        # (Spark's "Task failed while writing rows to file:<table>" comes before its cause).
        paths = [Path(m.rstrip(".")) for m in _PATH.findall(line)]
        if not paths:
            paths = [p for m in _PATH.findall(text) if _under(p := Path(m.rstrip(".")), storage)][:1]
        return StorageFault(kind, next((p for p in paths if _under(p, storage)), paths[0] if paths else storage))
    return None


def _under(path: Path, root: Path) -> bool:
    return path.is_relative_to(root.resolve())


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def keep_trace(exc: BaseException, storage: Path) -> Path:
    """The full trace, for whoever looks into the fault: under ``<storage>/logs`` or, when the
    storage itself cannot be written, the temporary folder. Returns where it went."""
    text = f"{dt.datetime.now(dt.UTC).isoformat()}\n{''.join(traceback.format_exception(exc))}\n"
    for target in (storage / "logs" / "pipelines-errors.log",
                   Path(tempfile.gettempdir()) / f"pipelines-errors-{os.getpid()}.log"):
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with target.open("a") as handle:
                handle.write(text)
            return target
        except OSError:
            continue
    return Path("(nowhere: no writable folder)")


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_since(path: Path, start: int, limit: int = 2_000_000) -> str:
    """What the Spark server logged since ``start`` (its Java exceptions name the cause in full:
    the text a failed flow reports may stop at ``Task failed while writing rows``)."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
