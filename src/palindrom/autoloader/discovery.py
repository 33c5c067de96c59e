"""Which files a stream has seen: a manifest that makes each file processed exactly once.

Offsets are ``{"log": <manifest id>, "seq": n}``: files get increasing sequence numbers as they are
admitted, and the manifest (an append-only JSON-lines file under the stream's state location) maps
numbers back to files. A batch is ``(start.seq, end.seq]``; replays after a crash read the same
entries. A full refresh resets the checkpoint, so ``initialOffset`` opens a fresh manifest.
"""

from __future__ import annotations

import fnmatch
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from palindrom.autoloader.options import CloudFilesOptions, glob_regex


@dataclass(frozen=True)
class FileEntry:
    seq: int  # 0 for files present at start and skipped (includeExistingFiles=false)
    path: str
    size: int
    mtime_ms: int


class NotADirectory(ValueError):
    """Auto Loader reads a directory; the path given is a file."""


def list_files(root: Path, glob_filter: str | None = None, recursive: bool = True) -> list[FileEntry]:
    """Data files under ``root``; hidden and ``_``-prefixed names (``_SUCCESS``, ``.crc``) skipped, and
    with ``pathGlobFilter`` only names that match it. A root that does not exist yet has no files
    (Auto Loader waits for it); a root that is a file is an error."""
    found: list[FileEntry] = []
    if not root.exists():
        return found
    if root.is_file():
        raise NotADirectory(f"{root} is a file: Auto Loader reads the files of a directory. Give the directory "
                            "that holds it (and pathGlobFilter to pick files by name).")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_"))) if recursive else []
        for name in filenames:
            if name.startswith((".", "_")) or (glob_filter and not fnmatch.fnmatchcase(name, glob_filter)):
                continue
            path = Path(dirpath, name)
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed while listing
                continue
            found.append(FileEntry(0, str(path.resolve()), stat.st_size, stat.st_mtime_ns // 1_000_000))
    found.sort(key=lambda e: (e.mtime_ms, e.path))
    return found


def listed(options: CloudFilesOptions) -> list[FileEntry]:
    """The files a cloudFiles read sees: under its path (and matching its glob), by its name
    filter, recursion and modification-time bounds."""
    found = list_files(options.path, options.glob_filter, options.recursive or options.path_pattern is not None)
    if options.path_pattern is not None:
        found = matching(found, options.path, options.path_pattern, options.recursive)
    return [e for e in found if options.admits(e.mtime_ms)]


def matching(entries: list[FileEntry], root: Path, pattern: str, recursive: bool) -> list[FileEntry]:
    """Entries whose path below ``root`` matches the glob, or which lie in a directory that does
    (as Hadoop's globbing reads a matched directory's files; recursively unless told not to)."""
    regex = glob_regex(pattern)
    base = root.resolve()
    kept = []
    for entry in entries:
        parts = Path(entry.path).relative_to(base).parts
        for depth in range(len(parts), 0, -1):
            if regex.fullmatch("/".join(parts[:depth])):
                if depth == len(parts) or recursive or depth == len(parts) - 1:
                    kept.append(entry)
                break
    return kept


class Manifest:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._file = directory / "files.jsonl"
        self.entries: dict[str, FileEntry] = {}
        self.by_seq: dict[int, FileEntry] = {}
        if self._file.exists():
            for line in self._file.read_text().splitlines():
                if line.strip():
                    self._remember(FileEntry(**json.loads(line)))

    @staticmethod
    def create(state_location: Path) -> Manifest:
        directory = state_location / uuid.uuid4().hex
        directory.mkdir(parents=True, exist_ok=True)
        return Manifest(directory)

    @property
    def last_seq(self) -> int:
        return max(self.by_seq, default=0)

    def _remember(self, entry: FileEntry) -> None:
        self.entries[entry.path] = entry
        if entry.seq:
            self.by_seq[entry.seq] = entry

    def append(self, entries: list[FileEntry]) -> None:
        if not entries:
            return
        with self._file.open("a") as handle:
            for entry in entries:
                handle.write(json.dumps(asdict(entry)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        for entry in entries:
            self._remember(entry)

    def between(self, start: int, end: int) -> list[FileEntry]:
        return [self.by_seq[s] for s in range(start + 1, end + 1) if s in self.by_seq]
