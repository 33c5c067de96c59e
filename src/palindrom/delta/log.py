"""A Delta table's current snapshot, read from its ``_delta_log`` (Delta protocol, reader side).

A pipeline may read a Delta table that lives outside it by path
(``spark.read.format("delta").load(path)``: reference data exported from another system).
Open-source Spark has no Delta reader, and the pipeline runtime stores its own tables in its own
format, so such a read becomes a Parquet read of the table's *active* data files with the schema
the log declares. The snapshot is the last checkpoint (``_last_checkpoint``, single- or multi-part
Parquet) plus the JSON commits after it: ``add`` actions not later ``remove``d are active.

Features that change how the data files must be read are refused with the feature's name:
deletion vectors (rows removed without rewriting a file), column mapping (physical column names
differ from the schema's) and partition values not spelled as ``column=value`` folders.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow.parquet as pq

LOG_FOLDER = "_delta_log"
_COMMIT = re.compile(r"(\d{20})\.json")


class DeltaTableError(ValueError):
    """The path is not a Delta table this reader can read exactly."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    version: int
    schema_json: str  # the table's schema as Spark's StructType JSON (Delta's schemaString)
    files: list[str]  # absolute paths of the active data files


def snapshot(path: Path) -> Snapshot:
    """The table's latest version: its active files and schema."""
    log = path / LOG_FOLDER
    if not log.is_dir():
        raise DeltaTableError(f"{path} is not a Delta table: it has no {LOG_FOLDER} folder.")
    active: dict[str, dict[str, Any]] = {}
    metadata: dict[str, Any] | None = None
    protocol: dict[str, Any] = {}
    start = -1
    checkpoint = _last_checkpoint(log)
    if checkpoint is not None:
        start = checkpoint
        for action in _checkpoint_actions(log, checkpoint):
            metadata, protocol = _apply(action, active, metadata, protocol)
    versions = sorted(int(m.group(1)) for p in log.iterdir() if (m := _COMMIT.fullmatch(p.name)))
    versions = [v for v in versions if v > start]
    for version in versions:
        text = (log / f"{version:020d}.json").read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                action = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DeltaTableError(f"{log / f'{version:020d}.json'}:{number}: not a JSON action ({exc}).") from exc
            metadata, protocol = _apply(action, active, metadata, protocol)
    if metadata is None:
        raise DeltaTableError(f"{path}: the Delta log has no metaData action (an empty or damaged table log).")
    _check_readable(path, metadata, protocol, active)
    version = versions[-1] if versions else start
    return Snapshot(path, version, metadata["schemaString"], sorted(_absolute(path, p) for p in active))


def _apply(action: dict[str, Any], active: dict[str, dict[str, Any]], metadata: dict[str, Any] | None,
           protocol: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    if action.get("add"):
        active[action["add"]["path"]] = action["add"]
    elif action.get("remove"):
        active.pop(action["remove"]["path"], None)
    elif action.get("metaData"):
        metadata = action["metaData"]
    elif action.get("protocol"):
        protocol = action["protocol"]
    return metadata, protocol


def _last_checkpoint(log: Path) -> int | None:
    marker = log / "_last_checkpoint"
    if not marker.is_file():
        return None
    return int(json.loads(marker.read_text(encoding="utf-8"))["version"])


def _checkpoint_actions(log: Path, version: int) -> list[dict[str, Any]]:
    parts = sorted(log.glob(f"{version:020d}.checkpoint*.parquet"))
    if not parts:
        raise DeltaTableError(f"{log}: _last_checkpoint names version {version}, whose checkpoint file is missing.")
    actions: list[dict[str, Any]] = []
    for part in parts:
        for row in pq.read_table(part).to_pylist():
            actions.extend({key: value} for key, value in row.items() if value and key in
                           ("add", "remove", "metaData", "protocol"))
    for action in actions:  # a checkpoint's maps come back from Parquet as (key, value) pairs
        add = action.get("add")
        if add and isinstance(add.get("partitionValues"), list):  # a map read by pyarrow: key/value pairs
            add["partitionValues"] = dict(add["partitionValues"])
    return actions


def _check_readable(path: Path, metadata: dict[str, Any], protocol: dict[str, Any],
                    active: dict[str, dict[str, Any]]) -> None:
    features = set(protocol.get("readerFeatures") or [])
    mapping = (metadata.get("configuration") or {}).get("delta.columnMapping.mode", "none")
    if "deletionVectors" in features and any(a.get("deletionVector") for a in active.values()):
        raise DeltaTableError(f"{path}: the Delta table has deletion vectors (rows deleted without rewriting "
                              "their files), which the local reader cannot apply. Purge them on Databricks "
                              "(REORG TABLE ... APPLY (PURGE)) or export the table without them.")
    if mapping != "none" or "columnMapping" in features:
        raise DeltaTableError(f"{path}: the Delta table uses column mapping (mode '{mapping}'): its files' column "
                              "names differ from the table's, which the local reader does not translate.")
    partitions = list(metadata.get("partitionColumns") or [])
    for relative, add in active.items():
        values = add.get("partitionValues") or {}
        folders = {k: v for k, _, v in (part.partition("=") for part in unquote(relative).split("/")[:-1])}
        if any(folders.get(column) != (values.get(column) if values.get(column) is not None
                                       else "__HIVE_DEFAULT_PARTITION__") for column in partitions):
            raise DeltaTableError(f"{path}: data file {relative} is not in column=value folders for the partition "
                                  f"columns {partitions}; the local reader takes partition values from folders.")


def _absolute(table: Path, relative: str) -> str:
    parsed = urlparse(relative)
    if parsed.scheme in ("file", ""):
        located = Path(unquote(parsed.path)) if parsed.scheme == "file" else table / unquote(relative)
        return str(located)
    raise DeltaTableError(f"{table}: data file {relative} is not on the local file system.")
