"""``make setup``: make the machine's JVM class archive (``class_archive``) with a training run: the
local server started with ``-XX:ArchiveClassesAtExit``, one update of the starter pipeline and a
query, then a normal JVM exit (when the JDK writes the archive)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock
from pyspark import SparkContext

from palindrom import sparkext
from palindrom.runtime import class_archive, daemon_state, java, jvm_watch, runner, server, spec


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
        _load_sealed_packages(gateway.jvm)
        process = gateway.proc  # set by pyspark.java_gateway.launch_gateway
        jvm_watch.expect_exit()
        started.session.stop()  # the Connect client first: once the server is gone it would retry at exit
        context.stop()
        process.stdin.close()   # the gateway JVM exits normally when its stdin closes
        process.wait(timeout=600)


def _load_sealed_packages(jvm: Any) -> None:
    """Load every class of the class path's sealed packages, so the archive holds all of them.

    A package of a sealed jar (Derby's, for one) whose first classes come from the archive and a
    later one from the jar fails with ``SecurityException: sealing violation: package ... is
    sealed``: the JDK defines the archived package with a seal base the jar's URL does not match.
    The training run creates a metastore; the next update opens an existing one and needs more of
    Derby's classes, so without this every second update on a storage failed with "Unable to
    instantiate SessionHiveMetaStoreClient". Loaded here (not initialised), every class of those
    packages is archived and none is ever read from the jar."""
    loader = jvm.java.lang.ClassLoader.getSystemClassLoader()
    for name in sealed_classes(sparkext.spark_jars()):
        try:
            jvm.java.lang.Class.forName(name, False, loader)
        except Exception:  # noqa: S112  # a class that cannot link here is not archived; nothing to do
            continue


def sealed_classes(jars: Path) -> Iterator[str]:
    """Names of the classes in the sealed packages of ``jars``'s jars (JAR manifest ``Sealed``)."""
    for jar in sorted(jars.glob("*.jar")):
        with zipfile.ZipFile(jar) as archive:
            try:
                manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
            except KeyError:
                continue
            default, packages = _sealing(manifest)
            for entry in archive.namelist():
                if not entry.endswith(".class") or entry.startswith("META-INF/") or "-" in entry.rsplit("/", 1)[-1]:
                    continue  # module-info, package-info, multi-release copies
                package = entry.rsplit("/", 1)[0] + "/" if "/" in entry else ""
                if packages.get(package, default):
                    yield entry.removesuffix(".class").replace("/", ".")


def _sealing(manifest: str) -> tuple[bool, dict[str, bool]]:
    """The main section's ``Sealed`` and each ``Name: pkg/`` section's, from a JAR manifest."""
    text = manifest.replace("\r\n", "\n").replace("\n ", "")   # continuation lines start with a space
    default, packages = False, {}
    for number, section in enumerate(text.split("\n\n")):
        fields = dict(line.split(": ", 1) for line in section.splitlines() if ": " in line)
        sealed = fields.get("Sealed", "").strip().lower()
        if number == 0:
            default = sealed == "true"
        elif "Name" in fields and sealed in ("true", "false"):
            packages[fields["Name"].strip()] = sealed == "true"
    return default, packages


def probe(timeout: float = 300) -> str:
    """One line on whether pipeline updates run with the archive mapped: two ``pipelines run starter``
    on a scratch storage (the second finds the first's tables and checkpoints), each in a process of
    its own with a time limit. Printed at the end of ``make test``, which runs the suite from the jars
    (``class_archive``); it never fails the build."""
    archive = class_archive.path_for(java.ensure())
    if not archive.is_file():
        return f"class archive probe: no archive at {archive}"
    env = {**{k: v for k, v in os.environ.items() if k != server.REMOTE_ENV}, class_archive.SWITCH_ENV: "on",
           daemon_state.SWITCH_ENV: "off"}  # each update in a JVM of its own, as the probe means
    times = []
    with tempfile.TemporaryDirectory(prefix="palindrom-class-archive-probe-") as scratch:
        command = [sys.executable, "-m", "palindrom.cli.main", "run", "starter", "--storage", scratch, "--quiet"]
        for update in (1, 2):
            began = time.monotonic()
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                                      timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                return f"class archive probe: FAILED, update {update} of the starter did not end in {timeout:.0f} s"
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["(no output)"])[-1][:300]
                return f"class archive probe: FAILED, update {update} exited {done.returncode}: {last}"
            times.append(time.monotonic() - began)
    return ("class archive probe: ok, two starter updates with the archive mapped took "
            + " and ".join(f"{t:.1f} s" for t in times))


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
    if sys.argv[1:] == ["--probe"]:
        print(probe(), file=sys.stderr)
        raise SystemExit(0)
    raise SystemExit(main())
