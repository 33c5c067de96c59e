"""What a storage directory holds, readable without Spark: the pipelines that ran there and each
update's event log as JSON lines.

Per pipeline ``<storage>/pipelines/<name>/``: ``pipeline.json`` (name, database, source folder) and
``event_log/<update_id>.jsonl``, the events of the ``<database>.event_log`` table written as they
happen, so ``pipelines updates`` and ``pipelines logs --follow`` work while a run holds the catalog.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INDEX_FILE = "pipeline.json"
EVENTS_DIR = "event_log"
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELED")


@dataclass(frozen=True)
class KnownPipeline:
    name: str
    database: str
    root: str
    state_dir: Path


def record(state_dir: Path, name: str, database: str, root: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    partial = state_dir / (INDEX_FILE + ".partial")
    partial.write_text(json.dumps({"name": name, "database": database, "root": str(root)}, indent=1))
    partial.replace(state_dir / INDEX_FILE)


def known(storage: Path) -> list[KnownPipeline]:
    """The pipelines that have run (or been validated) under ``storage``, by name."""
    found = []
    for path in sorted((storage / "pipelines").glob(f"*/{INDEX_FILE}")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and data.get("name") and data.get("database"):
            found.append(KnownPipeline(str(data["name"]), str(data["database"]), str(data.get("root") or ""),
                                       path.parent))
    return found


def events_file(state_dir: Path, update_id: str) -> Path:
    return state_dir / EVENTS_DIR / f"{update_id}.jsonl"


def write_events(path: Path, events: list[dict[str, Any]]) -> None:
    """All of an update's events so far, replacing the file at once (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text("".join(json.dumps(e, default=_iso) + "\n" for e in events))
    partial.replace(path)


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def read_events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class Update:
    update_id: str
    pipeline: str
    started: str
    seconds: float | None
    cause: str
    full_refresh: str  # "all", "a, b" or ""
    validate_only: bool
    state: str  # COMPLETED, FAILED, RUNNING, or INCOMPLETE (its process ended without a final state)
    error: str
    path: Path


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def summarize(path: Path, events: list[dict[str, Any]], running: bool) -> Update | None:
    """One update from its events; ``running``: a process still holds the storage."""
    if not events:
        return None
    create = next((e for e in events if e.get("event_type") == "create_update"), events[0])
    details = (create.get("details") or {}).get("create_update") or {}
    progress = [e for e in events if e.get("event_type") == "update_progress"]
    state = ((progress[-1].get("details") or {}).get("update_progress") or {}).get("state", "") if progress else ""
    if state not in FINAL_STATES:
        state = "RUNNING" if running else "INCOMPLETE"
    final = progress[-1] if progress else events[-1]
    error = ""
    if state == "FAILED":
        exceptions = ((final.get("error") or {}).get("exceptions") or [])
        error = "; ".join(str(x.get("message") or "") for x in exceptions) or next(
            (e.get("message", "") for e in reversed(events) if e.get("level") == "ERROR"), "")
    seconds = (_when(events[-1]["timestamp"]) - _when(events[0]["timestamp"])).total_seconds()
    selection = details.get("full_refresh_selection") or []
    full = "all" if details.get("full_refresh") else ", ".join(selection)
    origin = events[0].get("origin") or {}
    return Update(update_id=str(origin.get("update_id") or path.stem), pipeline=str(origin.get("pipeline_name") or ""),
                  started=str(events[0]["timestamp"]), seconds=seconds if state != "RUNNING" else None,
                  cause=str(details.get("cause") or ""), full_refresh=full,
                  validate_only=bool(details.get("validate_only")), state=state, error=error, path=path)


def updates(state_dir: Path, running: bool) -> list[Update]:
    """The pipeline's updates, oldest first; the newest may be ``running``."""
    found = [u for p in (state_dir / EVENTS_DIR).glob("*.jsonl")
             if (u := summarize(p, read_events(p), running)) is not None]
    found.sort(key=lambda u: u.started)
    if not running:
        return found
    return [u if u is found[-1] else _not_running(u) for u in found] if found else found


def _not_running(update: Update) -> Update:
    if update.state != "RUNNING":
        return update
    return Update(**{**update.__dict__, "state": "INCOMPLETE"})
