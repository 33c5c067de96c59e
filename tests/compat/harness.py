"""Runs one corpus case: its pipeline files (re-created from a public pipeline, run as they are) on two
batches of synthetic input, each update compared with the case's independently computed tables."""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import math
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

CASES = Path(__file__).parent / "cases"


@dataclass
class Case:
    name: str
    folder: Path
    settings: dict[str, Any]

    @staticmethod
    def load(name: str) -> Case:
        folder = CASES / name
        return Case(name, folder, yaml.safe_load((folder / "case.yml").read_text()))

    def module(self, stem: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"corpus_{self.name}_{stem}", self.folder / f"{stem}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def all_cases() -> list[str]:
    return sorted(p.parent.name for p in CASES.glob("*/case.yml"))


def prepare(case: Case, work: Path) -> tuple[Path, Path, str]:
    """Copy the case's files into ``work`` with a pipeline.yml of its settings; returns (pipeline
    folder, landing folder, schema)."""
    database = f"c_{case.name}_{uuid.uuid4().hex[:6]}".lower()
    folder, landing = work / case.name, work / "landing"
    landing.mkdir(parents=True)
    for source in (case.folder / "pipeline").rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            target = folder / source.relative_to(case.folder / "pipeline")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    settings = dict(case.settings.get("pipeline") or {})
    values = {"landing": str(landing), "storage": str(work / "storage")}
    settings["configuration"] = {k: str(v).format(**values) for k, v in (settings.get("configuration") or {}).items()}
    settings.update(name=case.name, database=database)
    (folder / "pipeline.yml").write_text(yaml.safe_dump(settings))
    return folder, landing, database


def land(case: Case, batch: int, landing: Path) -> None:
    before = {p: p.stat().st_mtime for p in landing.rglob("*") if p.is_file()}
    case.module("data").write_batch(batch, landing)
    later = time.time() + 2 * batch  # a later batch's files are newer, whatever the clock's resolution
    for path in landing.rglob("*"):
        if path.is_file() and path not in before:
            os.utime(path, (later, later))


def statements(case: Case, batch: int) -> list[str]:
    """SQL the case runs after landing a batch and before its update (``data.statements(batch)``, optional):
    changes to source tables outside the pipeline, made through Spark so its file listings stay current."""
    function = getattr(case.module("data"), "statements", None)
    return list(function(batch)) if function is not None else []


def _normal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_normal(v) for v in value)
    return value


def _key(row: dict[str, Any], columns: list[str]) -> tuple[Any, ...]:
    return tuple(round(v, 9) if isinstance(v, float) else v for v in (_normal(row.get(c)) for c in columns))


def compare(actual: list[dict[str, Any]], expected: list[dict[str, Any]], columns: list[str]) -> str | None:
    """None when the rows are equal as multisets over ``columns``; else a readable difference."""
    have, want = Counter(_key(r, columns) for r in actual), Counter(_key(r, columns) for r in expected)
    if have == want:
        return None
    missing, extra = want - have, have - want
    return (f"{sum(missing.values())} expected rows missing, {sum(extra.values())} unexpected rows; "
            f"missing e.g. {list(missing)[:3]}, unexpected e.g. {list(extra)[:3]} (columns {columns})")
