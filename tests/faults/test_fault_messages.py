"""Storage faults recognised from Python errors and from Spark's text (no Spark needed)."""

from __future__ import annotations

import errno
from pathlib import Path

from palindrom.runtime.storage_faults import from_os_error, from_text


def test_java_disk_full_names_the_file_under_storage(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    target = storage / "warehouse" / "db.db" / "bronze" / "part-00000.parquet"
    text = ("ERROR org.apache.spark.executor.Executor: Exception in task 0.0\n"
            f"java.io.IOException: No space left on device: writing file:{target}\n"
            "\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)\n")
    fault = from_text(text, storage)
    assert fault is not None and fault.kind == "disk full" and fault.path == target
    assert fault.message().startswith(f"The disk holding {target} is full (")


def test_java_fault_names_the_table_spark_was_writing(tmp_path: Path) -> None:
    table = tmp_path / "warehouse" / "db.db" / "event_log"
    text = (f"[TASK_WRITE_FAILED] Task failed while writing rows to file:{table}. SQLSTATE: 58030\n"
            "Caused by: java.io.IOException: Read-only file system")
    fault = from_text(text, tmp_path)
    assert fault is not None and fault.kind == "read-only" and fault.path == table


def test_java_fault_without_a_path_names_the_storage(tmp_path: Path) -> None:
    fault = from_text("Caused by: java.io.IOException: No space left on device", tmp_path)
    assert fault is not None and fault.kind == "disk full" and fault.path == tmp_path


def test_other_failures_are_not_storage_faults(tmp_path: Path) -> None:
    assert from_text("EXPECTATION_VIOLATED: value_positive failed on {\"id\": 1}", tmp_path) is None
    assert from_os_error(ValueError("x"), tmp_path) is None


def test_python_permission_error_through_a_chain(tmp_path: Path) -> None:
    cause = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".run.lock"))
    try:
        try:
            raise cause
        except PermissionError as inner:
            raise RuntimeError("lock failed") from inner
    except RuntimeError as outer:
        fault = from_os_error(outer, tmp_path)
    assert fault is not None and fault.kind == "permission denied" and fault.path == tmp_path / ".run.lock"
