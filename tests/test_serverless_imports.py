"""Every import of every pipeline file, and of every package module those reach, resolves on Databricks
serverless: to the wheel itself, to a requirement the wheel declares (installed from
environment.dependencies), or to what serverless environment version 4 provides
(palindrom.bundle.serverless documents that list and where it comes from)."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from conftest import REPO
from packaging.requirements import Requirement

from palindrom.bundle import imports, serverless

PIPELINE_FILES = sorted((REPO / "pipelines").glob("*/transformations/**/*.py"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    uv = shutil.which("uv") or os.path.expanduser("~/.local/bin/uv")
    subprocess.run([uv, "build", "--wheel", "--quiet", "--out-dir", str(out)], cwd=REPO, check=True, timeout=300)
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


def _requires(wheel: zipfile.ZipFile) -> list[Requirement]:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    message = Parser().parsestr(wheel.read(metadata).decode())
    return [Requirement(r) for r in message.get_all("Requires-Dist") or []]


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def unresolved(files: list[Path], wheel: zipfile.ZipFile) -> dict[str, list[str]]:
    """Imports that nothing on serverless provides: top-level module -> names of the files importing it."""
    declared = {_normalized(r.name) for r in _requires(wheel) if r.marker is None}
    by_module = importlib.metadata.packages_distributions()  # import name -> distributions (local venv)
    missing = {}
    for module, importers in imports.closure(files, REPO / "src").external.items():
        if serverless.provider(module) is not None:
            continue
        distributions = {_normalized(d) for d in by_module.get(module.split(".")[0], [])}
        if not distributions & declared:
            top = module.split(".")[0]
            missing[top] = sorted({*missing.get(top, []), *(p.name for p in importers)})
    return missing


def test_the_wheel_declares_only_what_serverless_lacks_and_never_pyspark(wheel):
    names = sorted(_normalized(r.name) for r in _requires(wheel))
    assert names == ["fastavro", "filelock", "pyyaml", "zstandard"]  # filelock: the registry state workers share
    for requirement in names:
        assert serverless.provider(requirement) is None


def test_every_pipeline_import_resolves_on_serverless(wheel):
    assert len(PIPELINE_FILES) == 4
    assert unresolved(PIPELINE_FILES, wheel) == {}
    reached = imports.closure(PIPELINE_FILES, REPO / "src")
    # The pipelines really use the wheel's requirements and the serverless packages (the test is not vacuous).
    tops = {m.split(".")[0] for m in reached.external}
    assert {"fastavro", "yaml", "pyspark", "pyarrow", "requests", "dlt", "databricks"} <= tops
    # Every package module the pipelines reach is inside the wheel.
    in_wheel = set(wheel.namelist())
    modules = {p.relative_to(REPO / "src").as_posix() for p in reached.files if p.is_relative_to(REPO / "src")}
    assert "palindrom/quality/guard.py" in modules and "palindrom/ingest/bronze.py" in modules
    assert modules <= in_wheel, sorted(modules - in_wheel)


def test_an_import_nothing_provides_is_reported(wheel, tmp_path):
    extra = tmp_path / "extra.py"
    extra.write_text("import dlt\nimport pyspark.sql.functions as F\n\ndef f():\n    import tomlkit\n"
                     "from palindrom.kafka import producer\n")
    # tomlkit (inside a function) and, through the package module it imports, confluent_kafka (a local-only
    # package: the `pipelines kafka send` producer) are installed by nothing on serverless.
    assert unresolved([extra], wheel) == {"tomlkit": ["extra.py"], "confluent_kafka": ["producer.py"]}


def test_serverless_list_names_what_databricks_connect_provides():
    assert serverless.ENVIRONMENT_VERSION == "4"
    assert serverless.provider("pyspark.sql.functions") == "databricks-connect"
    assert serverless.provider("databricks.sdk.runtime") == "databricks-sdk"
    assert serverless.provider("dlt") == "runtime"
    assert serverless.provider("fastavro") is None and serverless.provider("yaml") is None
