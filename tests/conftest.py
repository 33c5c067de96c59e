"""One Spark Connect server for the whole suite; every pipeline test gets its own storage and schema."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from palindrom.cli.main import main
from palindrom.runtime import server

REPO = Path(__file__).resolve().parents[1]
# Each test's server is its own or the suite's (one per worker), as before the local daemon; the
# daemon's own tests (tests/test_daemon.py) turn it on for the commands they start.
os.environ["PALINDROM_DAEMON"] = "off"
FIXTURES = Path(__file__).parent / "fixtures"

# `make test` runs two pytest-xdist workers with --dist loadfile: a file's tests stay on one worker
# (they share module fixtures). The work is ordered longest first, and the corpus (in-process cases
# on the warm server, independent of each other) is handed out case by case at the end, so both
# workers finish together (measured per file with --durations=0; the slow ones are listed here).
# The kill cases stay on one worker: each starts JVMs of its own, and two at once on two cores only
# slow each other down.
SPLIT_BY_TEST = ("tests/compat/test_corpus.py",)
LONGEST_FIRST = ("tests/faults/test_crash.py", "tests/test_testing_plugin.py", "tests/test_quality.py",
                 "tests/faults/test_storage.py", "tests/test_pipelines.py", "tests/test_cli.py",
                 "pipelines/events/tests/test_events_pipeline.py", "tests/test_events.py", "tests/test_autoloader.py",
                 "tests/test_dataframe_ops.py")
SHORT_LAST = ("tests/compat/test_corpus.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        if path in LONGEST_FIRST:
            return LONGEST_FIRST.index(path)
        return len(LONGEST_FIRST) + (path in SHORT_LAST)

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown (and unused) under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadFileScheduling

    class Scheduler(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if nodeid.startswith(SPLIT_BY_TEST) else super()._split_scope(nodeid)

    return Scheduler(config, log)


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory: pytest.TempPathFactory) -> server.Server:
    return server.start(tmp_path_factory.mktemp("spark-server"))


@pytest.fixture
def spark(spark_server: server.Server):  # type: ignore[no-untyped-def]
    return spark_server.session


def rows(spark, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [tuple(r) for r in spark.sql(sql).collect()]


def touch_later(path: Path, seconds: float = 5) -> Path:
    """Give a file a modification time in the future, so discovery orders it after older files."""
    later = time.time() + seconds
    os.utime(path, (later, later))
    return path


def write_json_lines(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def copy_fixture(name: str, parent: Path) -> tuple[Path, str]:
    """Copy fixture pipeline ``name`` under ``parent`` with a unique schema name; returns (folder, schema)."""
    database = f"t_{name}_{uuid.uuid4().hex[:8]}"
    target = parent / name
    target.mkdir()
    for source in (FIXTURES / name).rglob("*"):
        if source.is_file():
            dest = target / source.relative_to(FIXTURES / name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(source.read_text().replace("{database}", database))
    return target, database


@pytest.fixture
def pipeline_copy(tmp_path: Path) -> Callable[[str], tuple[Path, str]]:
    return lambda name: copy_fixture(name, tmp_path)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*argv: object) -> int:
    """``pipelines ...`` in this process, from the repository root (the suite's server is attached)."""
    previous = Path.cwd()
    os.chdir(REPO)
    try:
        return main([str(a) for a in argv])
    finally:
        os.chdir(previous)


@pytest.fixture
def run_cli(spark_server: server.Server, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    monkeypatch.chdir(REPO)
    return lambda *argv: main([str(a) for a in argv])
