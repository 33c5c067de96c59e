"""The wheel's requirements pinned to uv.lock, as the pipelines' ``environment.dependencies`` list them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from palindrom.runtime import spec

WHEEL_GLOB = "dist/*.whl"  # the bundle's `palindrom` artifact (databricks.yml), relative to the bundle root


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_requirements(root: Path | None = None) -> list[Requirement]:
    """``[project].dependencies`` of pyproject.toml: what the built wheel declares (Requires-Dist)."""
    pyproject = tomllib.loads(((root or spec.repo_root()) / "pyproject.toml").read_text())
    return [Requirement(r) for r in pyproject["project"]["dependencies"]]


def locked_versions(root: Path | None = None) -> dict[str, tuple[str, list[str]]]:
    """uv.lock: package -> (version, names of its dependencies)."""
    lock = tomllib.loads(((root or spec.repo_root()) / "uv.lock").read_text())
    return {normalize(p["name"]): (p.get("version", ""), [normalize(d["name"]) for d in p.get("dependencies", [])])
            for p in lock["package"]}


def pinned(root: Path | None = None) -> list[str]:
    """``name==version`` for every requirement of the wheel and what those require (uv.lock's closure)."""
    locked = locked_versions(root)
    todo = [normalize(r.name) for r in wheel_requirements(root)]
    seen: dict[str, str] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in locked:
            raise spec.ConfigurationError(f"uv.lock has no package '{name}': run `uv lock`.")
        version, requires = locked[name]
        seen[name] = version
        todo.extend(requires)
    return [f"{name}=={version}" for name, version in sorted(seen.items())]
