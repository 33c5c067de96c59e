"""The local server's JVM maps the machine's class archive (``make setup`` makes it): its classes come
from the archive, not from verifying each jar's classes again (runtime/class_archive.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark import SparkContext

from palindrom import sparkext
from palindrom.runtime import class_archive, java, server


def test_the_server_jvm_maps_the_class_archive(spark_server: server.Server) -> None:
    if not spark_server.started_here:
        pytest.skip("the suite attached to a server another process started")
    if not class_archive.enabled():
        pytest.skip(f"{class_archive.SWITCH_ENV}=off: the suite's servers start from the jars (make test)")
    archive = class_archive.path_for(java.ensure())
    assert archive.is_file(), f"no class archive at {archive}: `make setup` makes it"
    gateway = SparkContext._gateway
    assert gateway is not None
    pid = gateway.proc.pid  # type: ignore[attr-defined]  # the server JVM (spark-submit execs java)
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert str(archive) in maps, "the JVM did not map the archive (see logs/jvm-unified.log of its storage)"
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert any(part.decode().startswith("-XX:SharedArchiveFile=") for part in command)


def test_the_archive_is_named_after_the_class_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new pyspark, Java or extension jar finds no archive (and starts from the jars) instead of
    mapping one made for other classes."""
    jars = tmp_path / "jars"
    jars.mkdir()
    for name in ("spark-core.jar", "spark-sql.jar"):
        (jars / name).write_bytes(b"PK" + name.encode())
    extension = tmp_path / "palindrom-sparkext.jar"
    extension.write_bytes(b"PK ext")
    monkeypatch.setattr(sparkext, "spark_jars", lambda: jars)
    monkeypatch.setattr(sparkext, "jar", lambda: extension)
    binary = java.ensure()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(class_archive.SWITCH_ENV, "on")
    first = class_archive.path_for(binary)
    assert class_archive.java_options(binary, tmp_path) == ""          # no archive yet
    first.parent.mkdir(parents=True)
    first.write_bytes(b"an archive")
    assert f"-XX:SharedArchiveFile={first} " in class_archive.java_options(binary, tmp_path)
    monkeypatch.setenv(class_archive.SWITCH_ENV, "off")
    assert class_archive.java_options(binary, tmp_path) == ""          # switched off
    monkeypatch.setenv(class_archive.SWITCH_ENV, "on")
    assert class_archive.path_for(binary) == first                     # stable while nothing changes
    (jars / "spark-sql.jar").write_bytes(b"PK spark-sql, another build")
    second = class_archive.path_for(binary)
    assert second != first                                            # a jar changed
    (jars / "spark-connect.jar").write_bytes(b"PK")
    assert class_archive.path_for(binary) not in (first, second)      # a jar was added
    assert first.parent == second.parent and first.suffix == ".jsa"
