"""``make setup``: make the machine's JVM class archive (``class_archive``) with a training run: the
local server started with ``-XX:ArchiveClassesAtExit``, one update of the starter pipeline and a
query, then a normal JVM exit (when the JDK writes the archive)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from filelock import FileLock
from pyspark import SparkContext

from palindrom.runtime import class_archive, java, runner, server, spec


def build() -> Path:
    """Make the archive (a training run of the starter pipeline) unless it exists; returns its path."""
    archive = class_archive.path_for(java.ensure())
    archive.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(archive.parent / ".build.lock")):
        if archive.is_file():
            return archive
        partial = archive.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        _train(partial)
        if not partial.is_file():
            raise RuntimeError(f"the JVM wrote no class archive at {partial}")
        partial.replace(archive)   # atomic: a JVM never maps half an archive
    return archive


def _train(target: Path) -> None:
    """Start the server with ``-XX:ArchiveClassesAtExit``, run one update of the starter pipeline and
    a query, then end the JVM the way the JDK writes the archive (a normal exit) and wait for it."""
    with tempfile.TemporaryDirectory(prefix="palindrom-class-archive-") as scratch:
        storage = Path(scratch) / "storage"
        started = server.start(storage, archive_out=target)
        pipeline = spec.resolve("starter", "local", storage)
        runner.run_update(started.session, pipeline, storage, runner.RunOptions(), started.event_log_dir)
        for row in started.session.sql(f"SHOW TABLES IN `{pipeline.database}`").collect()[:1]:
            started.session.table(f"`{pipeline.database}`.`{row.tableName}`").count()
        gateway = SparkContext._gateway
        context = SparkContext._active_spark_context
        if gateway is None or context is None:
            raise RuntimeError("the server's JVM is not this process's child; no archive can be made here")
        process = gateway.proc  # set by pyspark.java_gateway.launch_gateway
        started.session.stop()  # the Connect client first: once the server is gone it would retry at exit
        context.stop()
        process.stdin.close()   # the gateway JVM exits normally when its stdin closes
        process.wait(timeout=600)


def main() -> int:
    """``make setup``: the archive is a speed-up, so failing to make one warns and setup goes on (the
    server then starts from the jars; the test suite's archive test says so)."""
    try:
        archive = build()
    except Exception as exc:
        print(f"warning: no JVM class archive was made ({type(exc).__name__}: {exc}); the local Spark server "
              "starts from its jars, about 8 s slower. `make setup` tries again.", file=sys.stderr)
        return 0
    print(f"JVM class archive: {archive} ({archive.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
