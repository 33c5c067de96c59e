"""Find a Java that Spark 4 runs on (17 or 21) before starting the server, or say how to get one."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

SUPPORTED = (17, 21)
_VERSION = re.compile(r'version "(?P<major>\d+)(?:\.(?P<minor>\d+))?')


class JavaNotFoundError(RuntimeError):
    pass


def install_hint() -> str:
    if platform.system() == "Darwin":
        return "Install it with `brew install openjdk@21` (or Temurin 17/21), or set JAVA_HOME to a JDK 17 or 21."
    return ("Install it with `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu; `make setup` does it), "
            "or set JAVA_HOME to a JDK 17 or 21.")


def major_version(java: Path | str) -> int | None:
    if not Path(java).is_file():
        return None
    try:
        done = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(done.stderr + done.stdout)
    if match is None:
        return None
    major = int(match["major"])
    return int(match["minor"] or 0) if major == 1 else major


def _candidates() -> list[Path]:
    found: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        found.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path))
    if platform.system() == "Darwin" and Path("/usr/libexec/java_home").exists():
        for version in SUPPORTED:
            done = subprocess.run(["/usr/libexec/java_home", "-v", str(version)],  # noqa: S603
                                  capture_output=True, text=True, check=False)
            if done.returncode == 0 and done.stdout.strip():
                found.append(Path(done.stdout.strip()) / "bin" / "java")
    for prefix in ("/opt/homebrew/opt", "/usr/local/opt"):  # Homebrew's keg-only openjdk@N
        found.extend(Path(prefix) / f"openjdk@{v}" / "bin" / "java" for v in reversed(SUPPORTED))
    for pattern in ("/usr/lib/jvm/*17*/bin/java", "/usr/lib/jvm/*21*/bin/java"):
        found.extend(sorted(Path("/").glob(pattern.lstrip("/"))))
    return found


def ensure() -> Path:
    """The java Spark will start; JAVA_HOME is set to its home (pyspark starts JAVA_HOME's java first)."""
    seen: list[str] = []
    for java in _candidates():
        version = major_version(java)
        if version in SUPPORTED:
            os.environ["JAVA_HOME"] = str(java.resolve().parent.parent)
            return java
        if version is not None:
            seen.append(f"{java} is Java {version}")
    found = f" ({'; '.join(seen)})" if seen else ""
    raise JavaNotFoundError(f"Spark needs Java 17 or 21 and none was found{found}. {install_hint()}")
