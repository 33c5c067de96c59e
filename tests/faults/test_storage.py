"""Disk full, a held storage lock, a folder without write permission: one clear message each, with
the path and what to do, exit status 3 (storage) or 2 (lock), no stack trace on the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from fault_helpers import FILES, ROWS_PER_FILE, events, expected, pipeline, read_table, run, table_rows, write_landing


def _no_trace(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "\tat org.apache" not in stderr and "at java." not in stderr
    assert "JVM stacktrace" not in stderr


def test_second_process_holding_the_lock(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    holder = subprocess.Popen(  # a second process holds the storage lock, as a running update does
        [sys.executable, "-c", "import fcntl, sys\n"
         "handle = open(sys.argv[1], 'a+')\nfcntl.flock(handle, fcntl.LOCK_EX)\n"
         "handle.write('{\"pid\": 4242, \"pipeline\": \"faults\"}')\nhandle.flush()\n"
         "print('locked', flush=True)\nsys.stdin.read()\n", str(storage / ".run.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = run(pipeline(tmp_path, "t_lock"), storage)
    finally:
        holder.communicate("")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert str(storage) in errors[0] and "(pid 4242," in errors[0]
    assert "Wait for it to finish, stop it (kill 4242), or pass a different --storage" in errors[0]
    _no_trace(result.stderr)
    assert sorted(p.name for p in storage.iterdir()) == [".run.lock"]  # nothing started


def test_storage_without_write_permission() -> None:
    """A storage folder the user may not write (chmod 555). As root permissions do not bind, so the
    run then goes as an unprivileged user of a user namespace (unshare), like any other user."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("running as root without unshare: permissions cannot be denied")
        prefix = ["unshare", "-U", "--map-user=1000", "--map-group=1000"]
    base = Path(tempfile.mkdtemp(prefix="palindrom-perm-"))  # not under pytest's root-only tmp folder
    try:
        base.chmod(0o755)
        storage = base / "storage"
        storage.mkdir()
        storage.chmod(0o555)
        result = run(pipeline(base, "t_perm"), storage, prefix=prefix)
        assert result.returncode == 3, result.stderr[-3000:]
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        lock_file = storage / ".run.lock"
        assert errors == [f"error: Permission denied writing {lock_file}. Give your user write access "
                          f"(for example `chmod -R u+w {lock_file}`) or run with --storage in a folder "
                          "you own, then run the pipeline again."]
        _no_trace(result.stderr)
        trace = Path(result.stderr.rsplit("(full error: ", 1)[1].split(")", 1)[0])
        assert "PermissionError" in trace.read_text()
        trace.unlink()
        assert list(storage.iterdir()) == []  # nothing written
    finally:
        (base / "storage").chmod(0o755)
        shutil.rmtree(base)


_DISK_SCRIPT = """
set -u
warehouse="$1"; shift
mount -t tmpfs -o size=24k tmpfs "$warehouse"
"$@" > "$OUT/full.out" 2> "$OUT/full.err"; echo $? > "$OUT/full.rc"
cp -a "$warehouse" "$OUT/after-full"
mount -o remount,size=64m "$warehouse"
"$@" > "$OUT/freed.out" 2> "$OUT/freed.err"; echo $? > "$OUT/freed.rc"
cp -a "$warehouse" "$OUT/after-freed"
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_disk_full_then_space_freed(tmp_path: Path) -> None:
    """The warehouse is a 24 KB tmpfs (mounted in a user namespace: no root needed): the update
    fails with one sentence; after the tmpfs grows ("space freed") a plain run completes."""
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged user namespaces are not available: {probe.stderr.decode().strip()}")
    database = f"t_disk_{uuid.uuid4().hex[:8]}"
    folder = pipeline(tmp_path, database)
    write_landing(folder / "landing", range(FILES))
    storage = tmp_path / "storage"
    (storage / "warehouse").mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "disk.sh"
    script.write_text(_DISK_SCRIPT)
    result = run(folder, storage, extra_env={"OUT": str(out)},
                 prefix=["unshare", "-rm", "sh", str(script), str(storage / "warehouse")])
    assert result.returncode == 0, result.stderr

    full_err = (out / "full.err").read_text()
    assert (out / "full.rc").read_text().strip() == "3", full_err[-3000:]
    errors = [line for line in full_err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "is full" in errors[0] and str(storage) in errors[0], full_err[-3000:]
    assert "Free space on it, or run with --storage on a disk with room" in errors[0]
    _no_trace(full_err)
    assert len(full_err.splitlines()) < 40
    # Nothing half-written is visible: a table shows whole micro-batches (one landing file each) or
    # nothing, never a row twice; the view stays empty (it never completed).
    failed = tmp_path / "failed"
    (failed / "warehouse").mkdir(parents=True)
    shutil.copytree(out / "after-full", failed / "warehouse", dirs_exist_ok=True)
    want = expected(range(FILES))
    tables = failed / "warehouse" / f"{database}.db"
    if (tables / "bronze").is_dir():
        bronze = table_rows(failed, database, "bronze", "id,sensor,value")
        assert set(bronze) <= set(want["bronze"]) and len(set(bronze)) == len(bronze)
        ids = {i for i, _, _ in bronze}
        files = {i // ROWS_PER_FILE for i in ids}
        assert ids == {f * ROWS_PER_FILE + k for f in files for k in range(ROWS_PER_FILE)}  # whole files only
    if (tables / "gold").is_dir():
        assert read_table(failed, database, "gold") == []

    assert (out / "freed.rc").read_text().strip() == "0", (out / "freed.err").read_text()[-3000:]
    restored = tmp_path / "restored"
    (restored / "warehouse").mkdir(parents=True)
    shutil.copytree(out / "after-freed", restored / "warehouse", dirs_exist_ok=True)
    assert table_rows(restored, database, "bronze", "id,sensor,value") == want["bronze"]
    assert table_rows(restored, database, "silver", "id,sensor,value") == want["silver"]
    assert table_rows(restored, database, "gold", "sensor,readings,total") == want["gold"]
    log = events(restored, database)
    ends = {e["origin"]["update_id"]: e["details"]["update_progress"]["state"] for e in
            sorted(log, key=lambda e: e["timestamp"]) if e["event_type"] == "update_progress"}
    assert sorted(ends.values()) == ["COMPLETED", "FAILED"]  # the disk-full update is in the log too
    # Rows the failed update committed before the disk filled are counted (in its FAILED events).
    for flow in ("bronze", "silver"):
        written = sum(int(e["details"]["flow_progress"].get("metrics", {}).get("num_output_rows", 0)) for e in log
                      if e["event_type"] == "flow_progress" and e["origin"]["flow_name"] == flow)
        assert written == len(want[flow])
