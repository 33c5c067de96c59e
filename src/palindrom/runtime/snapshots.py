"""Keep a materialized view as it was when its refresh does not complete.

Open-source SDP empties a materialized view when the update starts and rewrites it when its flow
runs. When that flow fails, or is skipped because an upstream flow failed, the view would stay
empty; on Databricks it keeps its previous contents (Delta commits atomically). Locally the view's
files are copied aside before the update and put back for every view whose flow did not complete.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path


class MaterializedViewSnapshots:
    def __init__(self, warehouse: Path, schema_of: Callable[[str], str], scratch: Path) -> None:
        self.warehouse = warehouse
        self.schema_of = schema_of
        self.scratch = scratch
        self.saved: set[str] = set()

    def _location(self, table: str) -> Path:
        return self.warehouse / f"{self.schema_of(table)}.db" / table.lower()

    def save(self, tables: list[str]) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        for table in tables:
            source = self._location(table)
            if source.is_dir():
                shutil.copytree(source, self.scratch / table.lower())
                self.saved.add(table)

    def restore(self, tables: list[str]) -> list[str]:
        """Put back the saved files of ``tables``; returns the tables restored."""
        restored = []
        for table in tables:
            if table not in self.saved:
                continue
            target = self._location(table)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(self.scratch / table.lower(), target)
            restored.append(table)
        return restored

    def discard(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
