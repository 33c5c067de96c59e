"""Checkpoint and manifest states a kill can leave, repaired without Spark (the crash suite runs the
same repairs end to end)."""

from __future__ import annotations

import json
from pathlib import Path

from palindrom.runtime.recovery import repair_checkpoints, repair_manifests

_OFFSET = 'v1\n{"batchWatermarkMs":0,"batchTimestampMs":1,"conf":{}}\n{"log": "abc", "seq": %d}\n'
_COMMIT = 'v1\n{"nextBatchWatermarkMs":0}\n'


def _checkpoint(root: Path, offsets: dict[int, str], commits: dict[int, str]) -> Path:
    checkpoint = root / "_checkpoints" / "spark_catalog" / "db" / "bronze" / "bronze" / "0"
    (checkpoint / "offsets").mkdir(parents=True)
    (checkpoint / "commits").mkdir()
    (checkpoint / "metadata").write_text('{"id":"2996a7b9-0691-45d4-9a18-0f58f625b582"}')
    for n, text in offsets.items():
        (checkpoint / "offsets" / str(n)).write_text(text)
    for n, text in commits.items():
        (checkpoint / "commits" / str(n)).write_text(text)
    return checkpoint


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_zero_byte_temporary_offset_of_batch_zero_resets_the_checkpoint(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path, {}, {})
    (checkpoint / "offsets" / ".0.5b0e4c2a-0d7e-4a8e-9a57-1d3f0b1c2d3e.tmp").write_bytes(b"")
    repairs = repair_checkpoints(tmp_path)
    assert not checkpoint.exists()  # no batch was planned: Spark starts it afresh
    assert checkpoint in repairs.removed


def test_cut_short_offset_is_planned_again_with_everything_after_it(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path, {0: _OFFSET % 1, 1: _OFFSET % 2, 2: "v1\n{\"batchWat", 3: _OFFSET % 4},
                             {0: _COMMIT, 1: _COMMIT})
    repair_checkpoints(tmp_path)
    assert _names(checkpoint / "offsets") == ["0", "1"]
    assert _names(checkpoint / "commits") == ["0", "1"]
    assert (checkpoint / "offsets" / "1").read_text() == _OFFSET % 2


def test_empty_commit_makes_its_batch_replay(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path, {0: _OFFSET % 1, 1: _OFFSET % 2}, {0: _COMMIT, 1: ""})
    (checkpoint / "commits" / ".1.crc").write_bytes(b"x")
    repairs = repair_checkpoints(tmp_path)
    assert _names(checkpoint / "offsets") == ["0", "1"]  # batch 1 replays from its offsets
    assert _names(checkpoint / "commits") == ["0"]
    assert len(repairs.notices) == 1 and "batch 1" in repairs.notices[0]


def test_sound_checkpoint_is_left_alone(tmp_path: Path) -> None:
    checkpoint = _checkpoint(tmp_path, {0: _OFFSET % 1, 1: _OFFSET % 2}, {0: _COMMIT})
    repairs = repair_checkpoints(tmp_path)
    assert repairs.removed == [] and repairs.notices == []
    assert _names(checkpoint / "offsets") == ["0", "1"] and _names(checkpoint / "commits") == ["0"]


def test_manifest_line_cut_short_is_removed(tmp_path: Path) -> None:
    manifest = tmp_path / "autoloader" / "bronze" / "state" / "abc" / "files.jsonl"
    manifest.parent.mkdir(parents=True)
    whole = json.dumps({"seq": 1, "path": "/l/a.json", "size": 3, "mtime_ms": 1}) + "\n"
    manifest.write_text(whole + '{"seq": 2, "path": "/l/b.js')
    repairs = repair_manifests(tmp_path)
    assert manifest.read_text() == whole
    assert repairs.removed == [manifest]
