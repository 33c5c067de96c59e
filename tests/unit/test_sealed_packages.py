"""The class archive's training loads every class of the class path's sealed packages
(runtime/class_archive_training.py): which classes those are, read from hand-made jars."""

from __future__ import annotations

import zipfile
from pathlib import Path

from palindrom.runtime.class_archive_training import sealed_classes


def _jar(path: Path, manifest: str, entries: list[str]) -> None:
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
        for entry in entries:
            jar.writestr(entry, b"\xca\xfe\xba\xbe")


def test_sealed_jars_packages_and_exemptions(tmp_path: Path) -> None:
    # A sealed jar with one package exempted (as Derby's org/apache/derby/jdbc/), a long value folded
    # over a continuation line, and entries that are not classes of a package.
    _jar(tmp_path / "a-sealed.jar",
         "Manifest-Version: 1.0\r\nSealed: true\r\nClass-Path: one.jar two\r\n .jar\r\n\r\n"
         "Name: org/a/open/\r\nSealed: false\r\n\r\n",
         ["org/a/store/Log.class", "org/a/store/Log$Scan.class", "org/a/open/Driver.class",
          "module-info.class", "org/a/store/package-info.class", "META-INF/versions/11/org/a/store/Log.class",
          "org/a/store/messages.properties"])
    # A jar that seals one package only, and one that seals nothing.
    _jar(tmp_path / "b-one-package.jar",
         "Manifest-Version: 1.0\n\nName: org/b/sealed/\nSealed: true\n\nName: org/b/other/\nImplementation-Title: b\n",
         ["org/b/sealed/X.class", "org/b/other/Y.class"])
    _jar(tmp_path / "c-plain.jar", "Manifest-Version: 1.0\n", ["org/c/Z.class"])
    with zipfile.ZipFile(tmp_path / "d-no-manifest.jar", "w") as jar:
        jar.writestr("org/d/W.class", b"")
    assert list(sealed_classes(tmp_path)) == ["org.a.store.Log", "org.a.store.Log$Scan", "org.b.sealed.X"]
