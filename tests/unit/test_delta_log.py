"""The Delta log reader: active files after adds, removes and a checkpoint; refused features."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from palindrom.delta.log import DeltaTableError, snapshot

SCHEMA = json.dumps({"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "day", "type": "string", "nullable": True, "metadata": {}}]})


def _metadata(partitions: list[str], configuration: dict[str, str] | None = None) -> dict:
    return {"metaData": {"id": "t", "format": {"provider": "parquet", "options": {}}, "schemaString": SCHEMA,
                         "partitionColumns": partitions, "configuration": configuration or {}}}


def _add(path: str, partitions: dict[str, str] | None = None) -> dict:
    return {"add": {"path": path, "partitionValues": partitions or {}, "size": 1, "modificationTime": 0,
                    "dataChange": True}}


def _commit(table: Path, version: int, *actions: dict) -> None:
    log = table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")


def test_active_files_are_adds_not_later_removed(tmp_path: Path):
    _commit(tmp_path, 0, {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}, _metadata(["day"]),
            _add("day=1/a.parquet", {"day": "1"}), _add("day=2/b.parquet", {"day": "2"}))
    _commit(tmp_path, 1, {"remove": {"path": "day=1/a.parquet"}}, _add("day=1/c%20d.parquet", {"day": "1"}))
    found = snapshot(tmp_path)
    assert found.version == 1
    assert found.schema_json == SCHEMA
    assert found.files == sorted([str(tmp_path / "day=1/c d.parquet"), str(tmp_path / "day=2/b.parquet")])


def test_a_checkpoint_replaces_the_commits_before_it(tmp_path: Path):
    log = tmp_path / "_delta_log"
    log.mkdir()
    add_type = pa.struct([("path", pa.string()), ("partitionValues", pa.map_(pa.string(), pa.string())),
                          ("size", pa.int64()), ("modificationTime", pa.int64()), ("dataChange", pa.bool_())])
    meta = _metadata([])["metaData"]
    rows = [{"add": None, "metaData": {"schemaString": meta["schemaString"], "partitionColumns": []}},
            {"add": {"path": "old.parquet", "partitionValues": [], "size": 1, "modificationTime": 0,
                     "dataChange": True}, "metaData": None}]
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("add", add_type),
        ("metaData", pa.struct([("schemaString", pa.string()), ("partitionColumns", pa.list_(pa.string()))]))]))
    pq.write_table(table, log / f"{3:020d}.checkpoint.parquet")
    (log / "_last_checkpoint").write_text(json.dumps({"version": 3, "size": 2}))
    _commit(tmp_path, 2, _add("ignored-before-checkpoint.parquet"))
    _commit(tmp_path, 4, _add("new.parquet"))
    found = snapshot(tmp_path)
    assert found.version == 4
    assert found.files == [str(tmp_path / "new.parquet"), str(tmp_path / "old.parquet")]


def test_features_that_change_how_files_are_read_are_refused(tmp_path: Path):
    _commit(tmp_path / "mapped", 0, _metadata([], {"delta.columnMapping.mode": "name"}), _add("a.parquet"))
    with pytest.raises(DeltaTableError, match="column mapping"):
        snapshot(tmp_path / "mapped")
    vectors = {"add": {**_add("a.parquet")["add"], "deletionVector": {"storageType": "u"}}}
    _commit(tmp_path / "dv", 0, {"protocol": {"minReaderVersion": 3, "readerFeatures": ["deletionVectors"]}},
            _metadata([]), vectors)
    with pytest.raises(DeltaTableError, match="deletion vectors"):
        snapshot(tmp_path / "dv")
    with pytest.raises(DeltaTableError, match="no _delta_log"):
        snapshot(tmp_path / "absent")
