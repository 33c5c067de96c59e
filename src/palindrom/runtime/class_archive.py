"""A class-data-sharing archive (JDK AppCDS) of the classes the local Spark server loads.

Every local command starts a JVM that loads and verifies some 20,000 classes from jars (Spark, Spark
Connect, the Hive metastore client, DataNucleus, Derby) before the first update can begin. Measured
on this project's 2-core machine: server start, first metastore access and a first query took
18-20 s from the jars, 10 s with the classes mapped from an archive. The JDK writes such an archive
when a JVM started with ``-XX:ArchiveClassesAtExit`` exits; later JVMs map it with
``-XX:SharedArchiveFile``.

``make setup`` makes the archive once per machine (``python -m palindrom.runtime.class_archive_training``):
a training run of the starter pipeline on a scratch storage, so every class a pipeline update loads
is in it. It is kept under ``$XDG_CACHE_HOME/palindrom/jvm/``, named after what it depends on (the
Java binary and every jar of the server's class path, with sizes and times), so a new pyspark, Java
or extension jar simply finds no archive and starts from the jars as before, until ``make setup``
makes a new one. The JDK checks the archive itself on every start and ignores one that does not
fit (``-Xshare:auto``); its unified-logging messages go to the storage's log folder, not the terminal.

``PALINDROM_CLASS_ARCHIVE=off`` starts servers from the jars even when an archive exists. ``make test``
sets it: with an archive that held only part of Derby's sealed packages, every second update on a
storage failed ("sealing violation"; the training run now archives those packages whole), and that
stopped the project's CI in stop 22. Until CI has shown the fixed archive working, the suite runs
from the jars and ``make test`` ends with a one-line probe of the archive
(``class_archive_training.probe``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from palindrom import sparkext


def _key(java: Path) -> str:
    """What the archive depends on: the Java binary and the server's class path, file by file."""
    digest = hashlib.sha256(str(java.resolve()).encode())
    for path in [java.resolve(), *sorted(sparkext.spark_jars().glob("*.jar")), sparkext.jar()]:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def path_for(java: Path) -> Path:
    return sparkext.cache_root() / "jvm" / f"spark-server-{_key(java)}.jsa"


def java_options(java: Path, logs: Path) -> str:
    """JVM options that map the archive made for this Java and class path ("" when there is none)."""
    archive = path_for(java)
    if not enabled() or not archive.is_file():
        return ""
    return f"-XX:SharedArchiveFile={archive} {_quiet(logs)}"


SWITCH_ENV = "PALINDROM_CLASS_ARCHIVE"


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "on").strip().lower() not in ("off", "0", "false", "no")


def _quiet(logs: Path) -> str:
    """The JVM's unified-logging messages (CDS included) to a file instead of the terminal."""
    return f"-Xlog:disable -Xlog:all=warning:file={logs / 'jvm-unified.log'}"


def dump_options(target: Path, logs: Path) -> str:
    return f"-XX:ArchiveClassesAtExit={target} {_quiet(logs)}"
