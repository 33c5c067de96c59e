"""A long-lived server stops the Python worker daemons of closed Connect sessions
(sparkext/PythonWorkerReaper.scala) and keeps those of open ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pyspark import SparkContext
from pyspark.sql.connect.session import SparkSession
from pyspark.sql.functions import col, udf

from palindrom.runtime import server


def _daemons(jvm: int) -> dict[int, str]:
    """The JVM's pyspark.daemon children: pid -> the session (artifact UUID) whose environment it has."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            if int(text[text.rfind(")") + 2:].split()[1]) != jvm:
                continue
            command = (stat.parent / "cmdline").read_bytes()
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"pyspark.daemon" in command:
            artifact = next((e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"SPARK_JOB_ARTIFACT_UUID=")), "")
            found[int(stat.parent.name)] = artifact
    return found


def _use_python(session: SparkSession) -> list[int]:
    plus_one = udf(lambda v: v + 1, "long")
    return sorted(r[0] for r in session.range(4).select(plus_one(col("id"))).collect())


def _settle(jvm: int, done: object, timeout: float = 30) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        found = _daemons(jvm)
        if done(found) or time.monotonic() > deadline:  # type: ignore[operator]
            return found
        time.sleep(0.25)


def test_closed_sessions_python_daemons_stop_and_open_ones_stay(spark_server: server.Server) -> None:
    if not spark_server.started_here or SparkContext._gateway is None:
        pytest.skip("the suite attached to a server another process started")
    jvm = SparkContext._gateway.proc.pid  # type: ignore[attr-defined]
    earlier = _daemons(jvm)  # other sessions' (earlier tests'), which may close meanwhile
    kept = SparkSession.builder.remote(spark_server.url).create()
    assert _use_python(kept) == [1, 2, 3, 4]
    before = _daemons(jvm)
    kept_ids = {a for pid, a in before.items() if a and pid not in earlier}
    assert kept_ids, "the kept session's Python UDF started no daemon of its own"
    for _ in range(3):
        session = SparkSession.builder.remote(spark_server.url).create()
        assert _use_python(session) == [1, 2, 3, 4]
        started = set(_daemons(jvm)) - set(before)
        assert started, "a new session's Python UDF started no daemon of its own"  # what there is to stop
        session.stop()
        after = _settle(jvm, lambda found, started=started: not (started & set(found)))
        assert not (started & set(after)), f"daemons of a closed session still run: {sorted(started & set(after))}"
    # The open session's daemons are still there and serve it.
    assert {pid for pid, a in _daemons(jvm).items() if a in kept_ids} == {pid for pid, a in before.items() if a in kept_ids}
    assert _use_python(kept) == [1, 2, 3, 4]
    kept.stop()
