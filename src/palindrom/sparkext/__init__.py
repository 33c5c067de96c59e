"""palindrom's Spark server extension: Scala sources compiled once per machine into a jar.

The local Spark Connect server loads it (``server_conf``) for what the runtime cannot do from the
client: relations the Connect planner would analyse too early (``Deferred.scala``), a table
format several streaming flows can append to (``PipelineTables.scala``), the Python worker
daemons of closed sessions stopped (``PythonWorkerReaper.scala``), and the sessions of clients that
are gone stopped with their updates (``SessionControl.scala``, for the local daemon).

pyspark ships the Scala compiler with its jars (for the Spark shell), so the jar is built with the
same JRE that runs Spark, against exactly the Spark version installed: no JDK, sbt or Maven. The
jar is cached under ``$XDG_CACHE_HOME/palindrom/sparkext/<hash of sources and Spark version>/`` and
built under a file lock, so parallel test workers build it once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pyspark
from filelock import FileLock

SOURCES = sorted(Path(__file__).parent.glob("*.scala"))
EXTENSIONS_CLASS = "org.apache.spark.sql.connect.palindrom.PalindromExtensions"
RELATION_PLUGIN_CLASS = "org.apache.spark.sql.connect.palindrom.DeferredRelationPlugin"
# Stops the Python worker daemons of closed Connect sessions (PythonWorkerReaper.scala).
REAPER_CLASS = "org.apache.spark.sql.connect.palindrom.PythonWorkerReaper"
# Pipeline tables: Parquet, with a streaming sink several flows can append through (PipelineTables.scala).
# Lists open Connect sessions and stops one with its pipeline updates (SessionControl.scala).
SESSION_CONTROL_CLASS = "org.apache.spark.sql.connect.palindrom.SessionControl"
TABLE_FORMAT = "org.apache.spark.sql.connect.palindrom.PipelineTableFormat"
JAR_NAME = "palindrom-sparkext.jar"


class ExtensionBuildError(RuntimeError):
    """The Scala sources did not compile (a Spark version the sources do not fit)."""


def spark_jars() -> Path:
    return Path(pyspark.__file__).parent / "jars"


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


def cache_root() -> Path:
    """Where palindrom keeps what it builds once per machine (``$XDG_CACHE_HOME/palindrom``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "palindrom"


def _fingerprint() -> str:
    digest = hashlib.sha256(pyspark.__version__.encode())
    for source in SOURCES:
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _compiler_classpath(jars: Path) -> str:
    wanted = ("scala-compiler-", "scala-library-", "scala-reflect-")
    found = [next(iter(sorted(jars.glob(f"{prefix}*.jar"))), None) for prefix in wanted]
    if any(j is None for j in found):
        raise ExtensionBuildError(f"pyspark's Scala compiler jars are missing from {jars}.")
    return os.pathsep.join(str(j) for j in found if j is not None)


def _compile(target: Path) -> None:
    jars = spark_jars()
    with tempfile.TemporaryDirectory(prefix="palindrom-sparkext-") as scratch:
        classes = Path(scratch) / "classes"
        classes.mkdir()
        command = [java(), "-Xss4m", "-cp", _compiler_classpath(jars), "scala.tools.nsc.Main", "-nowarn",
                   "-usejavacp", "-cp", str(jars / "*"), "-d", str(classes), *map(str, SOURCES)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise ExtensionBuildError(f"Compiling palindrom's Spark extension failed:\n{done.stdout}{done.stderr}")
        partial = target.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        partial.replace(target)  # atomic: a reader never sees half a jar


def jar() -> Path:
    """The extension jar for the installed Spark, built on first use."""
    directory = cache_root() / "sparkext" / _fingerprint()
    target = directory / JAR_NAME
    if target.is_file():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory / ".build.lock")):
        if not target.is_file():
            _compile(target)
    return target


def server_conf() -> dict[str, str]:
    """What a Spark Connect server needs to load the extension (set where its JVM starts)."""
    return {
        "spark.driver.extraClassPath": str(jar()),
        # Executors write pipeline tables through the extension's sink; on a cluster (``pipelines
        # serve --master``) its jar is at the same path on every host (shared storage) or shipped.
        "spark.executor.extraClassPath": str(jar()),
        "spark.sql.extensions": EXTENSIONS_CLASS,
        "spark.connect.extensions.relation.classes": RELATION_PLUGIN_CLASS,
        "spark.extraListeners": REAPER_CLASS,
    }
