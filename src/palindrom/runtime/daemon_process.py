"""The local server daemon of one storage: ``python -m palindrom.runtime.daemon_process STORAGE``.

Started by the first command on a storage (``daemon_client``), in a session of its own, with its
output in ``<storage>/logs/daemon.log`` (JSON records). It starts the Spark Connect server with the
storage's configuration (``server.start``), publishes its URL and token (``daemon_state``), then
every quarter second:

* **stops the sessions of clients that are gone.** Each client connects with a user id naming its
  process (``daemon_state.client_id``). A client killed mid-update (SIGKILL, the OOM killer) leaves
  its session open and its update running on the server; the daemon stops both
  (``SessionControl.scala``) before the next command begins, which waits for a sweep that began
  after it attached. The next plain run then recovers as from any interrupted update.
* **ends when idle**: no client has held ``users.lock`` for the idle time, or its state file is gone
  (the storage was deleted) or names another daemon. SIGTERM ends it at once (``pipelines daemon
  stop``). It stops its JVM before it exits, so Derby's lock on the metastore is free.
"""

from __future__ import annotations

import fcntl
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pyspark import SparkContext

from palindrom.logs import JsonLogger
from palindrom.runtime import connect_token, daemon_state, jvm_watch, server
from palindrom.sparkext import SESSION_CONTROL_CLASS

SWEEP_SECONDS = 0.25


def main(argv: list[str]) -> int:
    files = daemon_state.paths(Path(argv[0]))
    log = JsonLogger(os.environ.get("PALINDROM_ENVIRONMENT", "local"))
    idle = daemon_state.idle_seconds()
    started = server.start(files.storage)
    gateway = SparkContext._gateway
    jvm = SparkContext._jvm
    if gateway is None or jvm is None:
        raise RuntimeError("the Spark server started without a JVM gateway")
    connect_token.write(files.token, os.environ[connect_token.TOKEN_ENV])
    me = os.getpid()
    daemon_state.write(files, {"pid": me, "start": daemon_state.process_start(me), "url": started.url,
                               "jvmPid": gateway.proc.pid, "idleSeconds": idle,
                               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "fingerprint": daemon_state.fingerprint()})
    log.info("local Spark server daemon ready", storage=str(files.storage), url=started.url, idleSeconds=idle)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    control = functools.reduce(getattr, SESSION_CONTROL_CLASS.split("."), jvm)
    reason = _serve(files, control, idle, stop, log)
    log.info("local Spark server daemon stopping", reason=reason)
    if (daemon_state.read(files) or {}).get("pid") == me:
        files.state.unlink(missing_ok=True)
    jvm_watch.expect_exit()
    gateway.proc.terminate()
    try:
        gateway.proc.wait(60)
    except subprocess.TimeoutExpired:  # it must not keep Derby's lock after the daemon is gone
        gateway.proc.kill()
        gateway.proc.wait()
    return 0


def _serve(files: daemon_state.Paths, control: object, idle: float, stop: threading.Event,
           log: JsonLogger) -> str:
    """Sweep until the daemon should end; returns why it ends."""
    me = os.getpid()
    idle_since: float | None = None
    with files.users.open("a") as users:
        while not stop.wait(SWEEP_SECONDS):
            if (daemon_state.read(files) or {}).get("pid") != me:
                return "its state file is gone or names another daemon (the storage was removed or replaced)"
            began = time.time()
            _stop_gone_clients(control, log)
            files.sweep.write_text(repr(began))
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                idle_since = None
                continue
            idle_since = idle_since or began
            if began - idle_since >= idle:
                return f"no command used it for {idle:g} s"  # the exclusive lock is kept until the exit
            fcntl.flock(users, fcntl.LOCK_UN)
    return "asked to stop (SIGTERM)"


def _stop_gone_clients(control: object, log: JsonLogger) -> None:
    for line in control.openSessions():  # type: ignore[attr-defined]
        user, session = str(line).split("\t", 1)
        if daemon_state.gone_client(user):
            stopped = int(control.stop(user, session))  # type: ignore[attr-defined]
            if stopped > 0:
                log.warning("stopped an update of a command that is gone (killed or interrupted): its session, "
                            "pipeline updates and streaming queries", client=user, session=session, stopped=stopped)



if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pyspark's exit hooks would talk to the JVM stopped above, and wait for it
