"""Deployment scope: the pipelines a change touches, so CI validates, tests and restarts just those.

A pipeline is touched by a change to its folder, to a package module its code imports (followed
through the package, ``imports.closure``), or to a file its spec lists under ``uses``. A change to
what every pipeline shares (the bundle and its generator, environment settings, dependencies, the
dashboard, the build and CI set-up) touches all of them.
"""

from __future__ import annotations

import fnmatch
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from palindrom.bundle import imports, settings
from palindrom.runtime import spec

SHARED = ("databricks.yml", "conf/*", "pyproject.toml", "uv.lock", "dashboards/*", "resources/*",
          "src/palindrom/bundle/*", "Makefile", ".ci/*", ".github/workflows/*", "package.json", "package-lock.json")


@dataclass(frozen=True)
class Scope:
    pipelines: tuple[str, ...]
    tests: tuple[str, ...]
    full: bool

    def as_dict(self) -> dict[str, object]:
        return {"pipelines": list(self.pipelines), "tests": list(self.tests), "full": self.full}


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path, p.removesuffix("/**") + "/*")
               for p in patterns)


def files_of(name: str) -> set[str]:
    """Repository files pipeline ``name`` is made of: its folder's files and the package modules it imports."""
    root = spec.repo_root()
    pipeline = settings.pipeline_spec(name, "local")
    reached = imports.closure(pipeline.source_files(), root / "src")
    return {p.relative_to(root).as_posix() for p in reached.files if p.is_relative_to(root)}


def scope(changed: Iterable[str], everything: bool = False) -> Scope:
    changed = [c.strip() for c in changed if c.strip()]
    names = spec.pipeline_names()
    full = everything or any(_matches(c, SHARED) for c in changed)
    touched = set(names) if full else set()
    for name in names if not full else ():
        pipeline = settings.pipeline_spec(name, "local")
        own = files_of(name)
        if any(c.startswith(f"pipelines/{name}/") or c in own or _matches(c, pipeline.uses) for c in changed):
            touched.add(name)
    tests = sorted({t for name in touched for t in settings.pipeline_spec(name, "local").tests})
    return Scope(pipelines=tuple(sorted(touched)), tests=tuple(tests), full=full)


def changed_files(base: str, head: str) -> list[str]:
    """Files that differ between two commits (``git diff --name-only base...head``)."""
    result = subprocess.run(["git", "diff", "--name-only", f"{base}...{head}"],  # noqa: S603, S607 (git, fixed argv)
                            check=True, capture_output=True, text=True, cwd=spec.repo_root())
    return result.stdout.splitlines()
