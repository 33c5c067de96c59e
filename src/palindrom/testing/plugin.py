"""The pytest plugin (entry point ``pytest11``): fixtures ``pipeline`` and ``palindrom_spark_server``.

One Spark Connect server, started on first use: the local server daemon kept warm between pytest runs
(``runtime/daemon_state.py``; pytest-xdist workers share it), or the one ``PALINDROM_SPARK_REMOTE``
names; each ``pipeline(...)`` gets its own storage folder
and database, dropped after the test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from palindrom.runtime import daemon_state, server
from palindrom.testing.harness import Pipeline


class PipelineFactory(Protocol):
    def __call__(self, target: str | Path, *, env: str = "local",
                 configuration: Mapping[str, str] | None = None) -> Pipeline: ...


@pytest.fixture(scope="session")
def palindrom_spark_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> server.Server:
    """The process's Spark Connect server (shared with any other fixture that starts it): the local
    server daemon of ``<rootdir>/.pipelines/pytest-server``, kept warm between pytest runs and shared
    by pytest-xdist workers, or with ``PALINDROM_DAEMON=off`` a server of this process's own."""
    if daemon_state.enabled():
        return server.start(request.config.rootpath / ".pipelines" / "pytest-server")
    return server.start(tmp_path_factory.mktemp("palindrom-spark"))


@pytest.fixture
def pipeline(palindrom_spark_server: server.Server, tmp_path: Path) -> Iterator[PipelineFactory]:
    """``pipeline("events")``: a pipeline of this repository (or a folder) to run on mock inputs."""
    made: list[Pipeline] = []

    def factory(target: str | Path, *, env: str = "local",
                configuration: Mapping[str, str] | None = None) -> Pipeline:
        made.append(Pipeline(palindrom_spark_server, target, tmp_path / f"pipeline-{len(made)}", env=env,
                             configuration=configuration))
        return made[-1]

    yield factory
    for created in made:
        created.close()
