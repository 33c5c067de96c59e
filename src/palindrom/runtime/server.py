"""The local Spark Connect server: started once per process, or attached to by URL.

Static configuration (Hive catalog on embedded Derby, warehouse, Spark event log) can only be set
where the server JVM starts, so it is fixed here; everything per pipeline lives under the
pipeline's storage directory.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pyspark import SparkContext
from pyspark.sql import SparkSession as PySparkSession
from pyspark.sql.connect.session import SparkSession

from palindrom import sparkext
from palindrom.runtime import class_archive, daemon_client, daemon_state, faults, java, jvm_watch

REMOTE_ENV = "PALINDROM_SPARK_REMOTE"
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{ISO8601}} %p %c: %m%n
"""


@dataclass(frozen=True)
class Server:
    session: PySparkSession  # a Spark Connect session (the classic type is what pyspark's APIs declare)
    url: str
    event_log_dir: Path | None
    started_here: bool
    daemon: bool = False  # the storage's server daemon (``daemon_state``), kept warm between commands


_server: Server | None = None
_abandoned = threading.Event()  # an update was interrupted: its session is left to the daemon's sweep


@contextlib.contextmanager
def update_session(server: Server) -> Iterator[PySparkSession]:
    """A Spark session of its own for one update, as each Databricks update has: what pipeline
    code does to its session at load time (temporary views, UDFs, ``spark.conf.set``) and the
    tables it has resolved stay with that update. The session is the active one meanwhile, so
    ``SparkSession.builder.getOrCreate()`` in pipeline code returns it; it is released after.

    Interrupted (Ctrl-C) on the server daemon, the session is left open: closing it would wait for
    the update to finish. The command ends, and the daemon stops the update of a command that is
    gone (``daemon_process``)."""
    session = SparkSession.builder.remote(server.url).create()
    holder = SparkSession._active_session
    previous = getattr(holder, "session", None)
    holder.session = session
    try:
        yield cast(PySparkSession, session)
    except KeyboardInterrupt:
        if server.daemon:
            _abandoned.set()
        raise
    finally:
        holder.session = previous
        if not _abandoned.is_set():
            session.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_conf(root: Path, port: int, java_options: str = "") -> dict[str, str]:
    """``java_options``: more options for the server's JVM (the class archive's)."""
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (root / "spark-events").mkdir(parents=True, exist_ok=True)
    log4j = logs / "log4j2.properties"
    log4j.write_text(_LOG4J.format(log_file=logs / "spark.log"))
    java_opts = (f"-Dlog4j2.configurationFile=file:{log4j} -Dderby.system.home={root} "
                 f"-Dderby.stream.error.file={logs / 'derby.log'} {jvm_watch.crash_report_option(logs)} "
                 f"{java_options}").strip()
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": str(root / "spark-events"),
        "spark.eventLog.compress": "false",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": java_opts,
        "spark.sql.connect.serverStacktrace.enabled": "false",
        "spark.sql.pyspark.jvmStacktrace.enabled": "false",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # No file listing is kept between queries: a pipeline reads the files as they are at each
        # update (a listing cached by an earlier update named files since removed: FILE_NOT_EXIST).
        "spark.sql.hive.filesourcePartitionFileCacheSize": "0",
        # Nor a table's resolved files: each update runs in a session of its own, and a session that
        # read a table (a query, the UI, a test) must see what later updates wrote to it.
        "spark.sql.filesourceTableRelationCacheSize": "0",
        # Pipeline configuration reaches pipeline code as written, whatever its key or value: Spark's
        # redaction (keys or values matching secret|password|token|access.key) made
        # spark.conf.get("x.token_url") fail with SQL_CONF_NOT_FOUND. The local runtime redacts
        # secrets in its own output instead (palindrom.logs, the event log).
        "spark.redaction.regex": "(?!)",
        "spark.sql.redaction.options.regex": "(?!)",
        **sparkext.server_conf(),
    }


def python_worker(root: Path) -> Path:
    """The interpreter Spark starts Python workers with: this one, minus Spark's zipped pyspark.

    Spark puts ``pyspark.zip`` first on a worker's PYTHONPATH. Imports from a zip are compiled
    every time (2.3-3.5 s per worker here, against 0.6 s from the installed, byte-compiled copy of
    the same version), and a Python streaming source's worker has a fixed 10 s to connect back:
    several starting at once on two cores missed it. So workers import the installed pyspark.
    """
    script = root / "python-worker"
    text = ("#!/bin/sh\n# Written by palindrom.runtime.server: Spark's Python workers without pyspark.zip.\n"
            "PYTHONPATH=$(printf '%s' \"$PYTHONPATH\" | tr ':' '\\n' | grep -v '/pyspark.zip$' | paste -sd: -)\n"
            f"export PYTHONPATH\nexec '{sys.executable}' \"$@\"\n")
    root.mkdir(parents=True, exist_ok=True)
    if not script.is_file() or script.read_text() != text:
        script.write_text(text)
        script.chmod(0o755)
    return script


@contextlib.contextmanager
def _stderr_to(path: Path | None) -> Iterator[None]:
    """File descriptor 2 points at ``path`` meanwhile: a JVM started now keeps writing its own
    stderr (start-up warnings, native-library notices) there, not on the terminal."""
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as target:
        os.dup2(target.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


LOCAL_MASTER = "local[2]"


def start(root: Path, verbose: bool = False, archive_out: Path | None = None, *,
          master: str = LOCAL_MASTER, port: int | None = None) -> Server:
    """Start (once per process) a Spark Connect server keeping its metastore under ``root``.

    The JVM's own stderr goes to ``<root>/logs/jvm.log`` unless ``verbose``. Unless
    ``PALINDROM_DAEMON=off`` or ``verbose``, a local server is the storage's daemon (``daemon_state``).
    Its classes are mapped
    from the machine's class archive when there is one (``class_archive``); ``archive_out``: write
    one there instead, when the JVM exits. ``master``: where its executors run: two threads of this
    JVM by default, or a cluster (``spark://HOST:PORT`` for a standalone master; ``pipelines serve``).
    ``port``: the Connect port (default: a free one)."""
    global _server
    if _server is not None:
        return _server
    remote = os.environ.get(REMOTE_ENV)
    if remote:
        return attach(remote)
    root = root.resolve()
    if daemon_state.enabled() and not verbose and archive_out is None and master == LOCAL_MASTER and port is None:
        return _through_daemon(root)
    daemon_client.stop(root)  # a server of our own: the storage's Derby metastore admits one JVM
    faults.mark_driver()
    os.environ["PYSPARK_PYTHON"] = str(python_worker(root))
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    java_binary = java.ensure()
    port = port or free_port()
    archive = class_archive.dump_options(archive_out, root / "logs") if archive_out is not None \
        else class_archive.java_options(java_binary, root / "logs")
    conf = server_conf(root, port, archive)
    # Starting the server needs a classic SparkContext, which pyspark refuses while Connect mode is
    # on (CONTEXT_UNAVAILABLE_FOR_REMOTE_CLIENT), e.g. inherited from a parent process that attached.
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
    with _stderr_to(None if verbose else root / "logs" / "jvm.log"):
        SparkSession._start_connect_server(master, conf)
    gateway = SparkContext._gateway
    if gateway is not None:  # pyspark.java_gateway.launch_gateway keeps the JVM's process here
        jvm_watch.watch(gateway.proc, root / "logs")
    url = f"sc://localhost:{port}"  # token without TLS is only allowed for localhost
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    session = SparkSession.builder.remote(url).getOrCreate()
    _server = Server(cast(PySparkSession, session), url, root / "spark-events", started_here=True)
    os.environ[REMOTE_ENV] = url
    return _server


def _through_daemon(root: Path) -> Server:
    """Attach to the storage's server daemon (``daemon_state``), started now if none runs."""
    global _server
    daemon = daemon_client.attach(root)
    since = time.time()
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    url = f"{daemon.url}/;user_id={daemon_state.client_id()}"
    attached = attach(url, root / "spark-events")
    atexit.register(_release, attached.session)
    daemon_client.wait_for_sweep(daemon.files, since)
    jvm_watch.watch_daemon(lambda: daemon_state.alive(daemon.pid, daemon.start), daemon.pid, root / "logs")
    _server = Server(attached.session, url, attached.event_log_dir, started_here=daemon.started_now, daemon=True)
    os.environ[REMOTE_ENV] = url
    return _server


def abandoned() -> bool:
    """An interrupted update's session was left open for the daemon to stop."""
    return _abandoned.is_set()


def _release(session: PySparkSession) -> None:
    """Close this command's session on the daemon as the command ends (a killed or interrupted
    command's sessions are closed by the daemon's sweep instead)."""
    if not _abandoned.is_set():
        with contextlib.suppress(Exception):
            session.stop()


def attach(url: str, event_log_dir: Path | None = None) -> Server:
    """Use a Spark Connect server that is already running (e.g. the test suite's); its Spark event
    log folder is asked of it unless given."""
    global _server
    # pyspark.sql.functions & co. build Connect columns only when this is set.
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    session = SparkSession.builder.remote(url).getOrCreate()
    if event_log_dir is None:
        try:
            event_log_dir = Path(str(session.conf.get("spark.eventLog.dir")).removeprefix("file:"))
        except Exception:  # the server may not log events; row counts then come from tables only
            event_log_dir = None
    _server = Server(cast(PySparkSession, session), url, event_log_dir, started_here=False)
    return _server


def current() -> Server | None:
    return _server
