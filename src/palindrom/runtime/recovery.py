"""What a killed update leaves behind, made whole at the start of the next update.

Runs under the storage lock before any flow starts, so nothing else writes these files meanwhile.

Checkpoints (Spark's layout: ``metadata``, ``offsets/N``, ``commits/N``, ``sources/``, ``state/``).
Spark writes each file as ``.N.<uuid>.tmp`` and renames it, but a kill can still leave the
temporary file, and on some file systems an empty or cut-short ``N``. Batch ``N`` is planned
(``offsets/N``), then run, then committed (``commits/N``); the table's sink publishes a batch at
most once. So:

* temporary files are removed (they were never renamed into place: nothing refers to them);
* a committed batch whose ``commits/N`` is unreadable is replayed: ``commits/N`` and later go
  (the sink skips what it had already published);
* a batch whose ``offsets/N`` is unreadable never ran: ``offsets/N`` and everything after it go,
  so Spark plans it again from the last good offsets. Auto Loader's manifest keeps every file it
  admitted, and the next plan takes the admitted files after the last good offset first, so no
  file is skipped; with no good offset left the checkpoint is removed as a whole and the stream
  starts from its beginning with a fresh manifest (no batch of it had run).

Auto Loader manifests (``files.jsonl``): a last line cut short by a kill is removed; it was never
in an offset, because Spark writes ``offsets/N`` only after the source has admitted the files.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

_TEMPORARY = re.compile(r"^\..*\.tmp$")
_VERSION = re.compile(r"^v\d+$")


@dataclass
class Repairs:
    removed: list[Path] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def repair_checkpoints(root: Path) -> Repairs:
    """Make every streaming checkpoint under ``root`` one Spark can restart from (see module doc)."""
    repairs = Repairs()
    if not root.is_dir():
        return repairs
    for offsets in sorted(root.rglob("offsets")):
        if offsets.is_dir():
            _repair_checkpoint(offsets.parent, repairs)
    return repairs


def _batches(folder: Path) -> dict[int, Path]:
    if not folder.is_dir():
        return {}
    return {int(p.name): p for p in folder.iterdir() if p.name.isdigit()}


def _remove(path: Path, repairs: Repairs) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
        path.with_name(f".{path.name}.crc").unlink(missing_ok=True)
    repairs.removed.append(path)


def _readable(path: Path, least_lines: int) -> bool:
    """A log entry Spark can read: a version line, then JSON lines (``-`` for a source without an offset)."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    if len(lines) < least_lines or not _VERSION.match(lines[0]):
        return False
    try:
        for line in lines[1:]:
            if line != "-":
                json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _repair_checkpoint(checkpoint: Path, repairs: Repairs) -> None:
    for folder in (checkpoint, checkpoint / "offsets", checkpoint / "commits"):
        if folder.is_dir():
            for item in folder.iterdir():
                if _TEMPORARY.match(item.name):
                    _remove(item, repairs)
    metadata = checkpoint / "metadata"
    if metadata.is_file():
        try:
            json.loads(metadata.read_text())
        except (OSError, ValueError):
            _remove(metadata, repairs)
    offsets, commits = _batches(checkpoint / "offsets"), _batches(checkpoint / "commits")
    bad_offset = next((n for n in sorted(offsets) if not _readable(offsets[n], 3)), None)
    if bad_offset is not None:
        good = [n for n in offsets if n < bad_offset]
        if not good:
            _remove(checkpoint, repairs)
            repairs.notices.append(f"checkpoint {checkpoint}: its first batch was never planned completely; "
                                   "the stream starts again from its beginning")
            return
        for n in sorted(offsets):
            if n >= bad_offset:
                _remove(offsets[n], repairs)
        repairs.notices.append(f"checkpoint {checkpoint}: batch {bad_offset} was cut short while planned; "
                               "it is planned again")
        offsets = {n: p for n, p in offsets.items() if n < bad_offset}
    bad_commit = next((n for n in sorted(commits) if n not in offsets or not _readable(commits[n], 2)), None)
    if bad_commit is not None:
        for n in sorted(commits):
            if n >= bad_commit:
                _remove(commits[n], repairs)
        repairs.notices.append(f"checkpoint {checkpoint}: the commit of batch {bad_commit} was cut short; "
                               "the batch is replayed")
    if not offsets and not _batches(checkpoint / "commits"):
        # Nothing was planned: what else is there (metadata, sources/, state/) belongs to no batch.
        # Spark refuses to start batch 0 in a non-empty location (STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY).
        leftovers = [p for p in checkpoint.iterdir() if p.name not in ("offsets", "commits")]
        if leftovers:
            _remove(checkpoint, repairs)


def repair_manifests(root: Path) -> Repairs:
    """Cut a last line a kill left short from every Auto Loader manifest under ``root``."""
    repairs = Repairs()
    if not root.is_dir():
        return repairs
    for manifest in sorted(root.rglob("files.jsonl")):
        data = manifest.read_bytes()
        end = data.rfind(b"\n") + 1
        if end == len(data):
            continue
        tail = data[end:]
        try:
            json.loads(tail)
        except ValueError:
            with manifest.open("r+b") as handle:
                handle.truncate(end)
            repairs.removed.append(manifest)
            repairs.notices.append(f"Auto Loader manifest {manifest}: removed an entry cut short by a kill")
            continue
        with manifest.open("ab") as handle:  # complete, only its newline missing
            handle.write(b"\n")
    return repairs
