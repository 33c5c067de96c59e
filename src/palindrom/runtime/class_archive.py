"""A class-data-sharing archive (JDK AppCDS) of the classes the local Spark server loads.

Every local command starts a JVM that loads and verifies some 20,000 classes from jars (Spark, Spark
Connect, the Hive metastore client, DataNucleus, Derby) before the first update can begin. Measured
on this project's 2-core machine: server start, first metastore access and a first query took
18-20 s from the jars, 10 s with the classes mapped from an archive. The JDK writes such an archive
when a JVM started with ``-XX:ArchiveClassesAtExit`` exits; later JVMs map it with
``-XX:SharedArchiveFile``.

``make setup`` makes the archive once per machine (``python -m palindrom.runtime.class_archive``):
a training run of the starter pipeline on a scratch storage, so every class a pipeline update loads
is in it. It is kept under ``$XDG_CACHE_HOME/palindrom/jvm/``, named after what it depends on (the
Java binary and every jar of the server's class path, with sizes and times), so a new pyspark, Java
or extension jar simply finds no archive and starts from the jars as before, until ``make setup``
makes a new one. The JDK checks the archive itself on every start and ignores one that does not
fit (``-Xshare:auto``); its unified-logging messages go to the storage's log folder, not the terminal.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from filelock import FileLock

from palindrom import sparkext


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "palindrom" / "jvm"


def _key(java: Path) -> str:
    """What the archive depends on: the Java binary and the server's class path, file by file."""
    digest = hashlib.sha256(str(java.resolve()).encode())
    for path in [java.resolve(), *sorted(sparkext.spark_jars().glob("*.jar")), sparkext.jar()]:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def path_for(java: Path) -> Path:
    return _cache_root() / f"spark-server-{_key(java)}.jsa"


def java_options(java: Path, logs: Path) -> str:
    """JVM options that map the archive made for this Java and class path ("" when there is none)."""
    archive = path_for(java)
    if not archive.is_file():
        return ""
    return f"-XX:SharedArchiveFile={archive} {_quiet(logs)}"


def _quiet(logs: Path) -> str:
    """The JVM's unified-logging messages (CDS included) to a file instead of the terminal."""
    return f"-Xlog:disable -Xlog:all=warning:file={logs / 'jvm-unified.log'}"


def dump_options(target: Path, logs: Path) -> str:
    return f"-XX:ArchiveClassesAtExit={target} {_quiet(logs)}"


def build() -> Path:
    """Make the archive (a training run of the starter pipeline) unless it exists; returns its path."""
    from palindrom.runtime import java as java_module

    java = java_module.ensure()
    archive = path_for(java)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(archive.parent / ".build.lock")):
        if archive.is_file():
            return archive
        partial = archive.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        _train(partial)
        if not partial.is_file():
            raise RuntimeError(f"the JVM wrote no class archive at {partial}; see its log under the scratch storage")
        partial.replace(archive)   # atomic: a JVM never maps half an archive
    return archive


def _train(target: Path) -> None:
    """Start the server with ``-XX:ArchiveClassesAtExit``, run one update of the starter pipeline and
    a query, then end the JVM the way the JDK writes the archive (a normal exit) and wait for it."""
    from pyspark import SparkContext

    from palindrom.runtime import runner, server, spec

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
