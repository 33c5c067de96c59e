"""Keep a materialized view as it was when its refresh does not complete.

Open-source SDP empties a materialized view when the update starts and rewrites it when its flow
runs. When that flow fails, or is skipped because an upstream flow failed, the view would stay
empty; on Databricks it keeps its previous contents (Delta commits atomically). Locally the view's
files are copied aside before the update and put back for every view whose flow did not complete.

The copy is made in ``<scratch>.partial`` and renamed to ``<scratch>`` once complete, and removed
only after every view is back. So a copy that exists when an update starts is complete and belongs
to an update that was killed: :meth:`recover` puts those views back before anything else runs.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

SNAPSHOTS_DIR = "mv_snapshots"  # under a pipeline's state folder


def kept_copy(state_dir: Path, table: str) -> Path | None:
    """The view's last good contents while an update that may rewrite it is running or was killed:
    the complete copy made before that update (the copy still being made does not count). Readers
    of the view's files read this instead, as a Databricks reader keeps seeing the view's last
    committed version until its refresh commits."""
    copy = state_dir / SNAPSHOTS_DIR / table.lower()
    return copy if copy.is_dir() else None


class MaterializedViewSnapshots:
    def __init__(self, warehouse: Path, schema_of: Callable[[str], str], scratch: Path) -> None:
        self.warehouse = warehouse
        self.schema_of = schema_of
        self.scratch = scratch
        self.saved: set[str] = set()

    def _location(self, table: str) -> Path:
        return self.warehouse / f"{self.schema_of(table)}.db" / table.lower()

    @property
    def _partial(self) -> Path:
        return self.scratch.with_name(self.scratch.name + ".partial")

    def save(self, tables: list[str]) -> None:
        shutil.rmtree(self._partial, ignore_errors=True)
        shutil.rmtree(self.scratch, ignore_errors=True)
        self._partial.mkdir(parents=True)
        for table in tables:
            source = self._location(table)
            if source.is_dir():
                shutil.copytree(source, self._partial / table.lower())
                self.saved.add(table)
        self._partial.replace(self.scratch)

    def recover(self, tables: list[str], keep: set[str]) -> list[str]:
        """Views of ``tables`` copied aside by an update that did not finish, put back; views in
        ``keep`` (that update completed them) keep what it wrote. Returns the views put back."""
        shutil.rmtree(self._partial, ignore_errors=True)  # the kill came before any view was emptied
        if not self.scratch.is_dir():
            return []
        self.saved = {t for t in tables if (self.scratch / t.lower()).is_dir()}
        restored = self.restore([t for t in tables if t not in keep])
        self.discard()
        return restored

    def restore(self, tables: list[str]) -> list[str]:
        """Put back the saved files of ``tables``; returns the tables restored."""
        restored = []
        for table in tables:
            if table not in self.saved:
                continue
            target = self._location(table)
            # Copied next to the view, then swapped in by two renames: a kill in between leaves
            # the snapshot in place for the next update to finish the job.
            incoming = target.with_name(target.name + ".restoring")
            shutil.rmtree(incoming, ignore_errors=True)
            shutil.copytree(self.scratch / table.lower(), incoming)
            shutil.rmtree(target, ignore_errors=True)
            incoming.replace(target)
            restored.append(table)
        return restored

    def discard(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
