"""``schemas/`` as a registry, and the lockfile that pins what a real registry resolved.

Layout (docs/data-schemas.md)::

    schemas/registry.yml                       groups and their COMPATIBILITY rule
    schemas/<group>/<artifactId>/v<N>.avsc     version N of an artifact (Apicurio group id / artifact id)
    schemas/registry.<env>.lock.json           per environment: versions, globalId, contentId and
                                               sha256 last resolved from that environment's registry

``LocalRegistry`` answers like a registry that received every file in order: globalIds count up
over (group, artifact, version); contentIds over distinct contents. ``LockedRegistry`` answers from
the lockfile and the files it pins, for when the configured registry cannot be reached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from palindrom.avro import compatibility
from palindrom.avro.wire import SchemaRef
from palindrom.registry.client import ArtifactVersion
from palindrom.registry.errors import NotFound, RegistryError, RuleViolation


def lockfile(directory: Path, environment: str) -> Path:
    return directory / f"registry.{environment}.lock.json"
_VERSION_FILE = re.compile(r"^v(\d+)\.avsc$")


class SchemaSource(Protocol):
    def latest(self, group: str, artifact: str) -> ArtifactVersion: ...
    def schema(self, ref: SchemaRef) -> str: ...
    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]: ...


@dataclass(frozen=True)
class LocalArtifact:
    group: str
    artifact: str
    files: tuple[Path, ...]          # v1, v2, ... in order
    compatibility: str


def sha256(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def artifacts(directory: Path) -> list[LocalArtifact]:
    settings = yaml.safe_load((directory / "registry.yml").read_text()) if (directory / "registry.yml").exists() else {}
    groups = (settings or {}).get("groups", {})
    found = []
    for group_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        rule = str(groups.get(group_dir.name, {}).get("compatibility", "BACKWARD"))
        for artifact_dir in sorted(p for p in group_dir.iterdir() if p.is_dir()):
            numbered = []
            for path in artifact_dir.iterdir():
                match = _VERSION_FILE.match(path.name)
                if match is None:
                    raise RegistryError(f"{path}: schema files are named v<N>.avsc (v1.avsc, v2.avsc, ...).")
                numbered.append((int(match[1]), path))
            numbered.sort()
            if [n for n, _ in numbered] != list(range(1, len(numbered) + 1)):
                raise RegistryError(f"{artifact_dir}: versions must be v1..vN without gaps, found "
                                    f"{[n for n, _ in numbered]}.")
            found.append(LocalArtifact(group_dir.name, artifact_dir.name, tuple(p for _, p in numbered), rule))
    return found


class LocalRegistry:
    """The default registry locally: every schema file, registered in order, no server."""

    url = "local"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.artifacts = {(a.group, a.artifact): a for a in artifacts(directory)}
        self._versions: dict[tuple[str, str], list[ArtifactVersion]] = {}
        self._by_ref: dict[SchemaRef, str] = {}
        global_id, content_ids = 0, dict[str, int]()
        for key, artifact in self.artifacts.items():
            for number, path in enumerate(artifact.files, start=1):
                content = path.read_text()
                global_id += 1
                content_id = content_ids.setdefault(sha256(content), len(content_ids) + 1)
                version = ArtifactVersion(key[0], key[1], str(number), global_id, content_id, content)
                self._versions.setdefault(key, []).append(version)
                self._by_ref[SchemaRef("globalId", global_id)] = content
                self._by_ref[SchemaRef("contentId", content_id)] = content
                self._by_ref[SchemaRef("confluentId", content_id)] = content

    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        if (group, artifact) not in self._versions:
            raise NotFound(f"no artifact {group}/{artifact} under {self.directory}")
        return self._versions[(group, artifact)]

    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        return self.all_versions(group, artifact)[-1]

    def schema(self, ref: SchemaRef) -> str:
        if ref not in self._by_ref:
            raise NotFound(f"no schema with {ref.kind} {ref.id} under {self.directory}")
        return self._by_ref[ref]

    def check(self, group: str, artifact: str) -> None:
        """Every version must satisfy the group's COMPATIBILITY rule against its predecessors."""
        versions = self.all_versions(group, artifact)
        rule = self.artifacts[(group, artifact)].compatibility
        parsed = [json.loads(v.content) for v in versions]
        for index in range(1, len(parsed)):
            found = compatibility.violations(rule, parsed[index], parsed[:index])
            if found:
                raise RuleViolation(f"{group}/{artifact} v{index + 1} violates {rule} compatibility", found, 409)


class LockedRegistry:
    """Answers from an environment's lockfile and the schema files it pins by hash."""

    def __init__(self, directory: Path, environment: str) -> None:
        path = self.path = lockfile(directory, environment)
        if not path.exists():
            raise RegistryError(f"{path} does not exist; run `pipelines registry pull` while the registry is up.")
        self.lock = json.loads(path.read_text())
        by_hash = {sha256(p.read_text()): p.read_text() for p in directory.rglob("v*.avsc")}
        self._latest: dict[tuple[str, str], ArtifactVersion] = {}
        self._versions: dict[tuple[str, str], list[ArtifactVersion]] = {}
        self._by_ref: dict[SchemaRef, str] = {}
        for entry in self.lock["artifacts"]:
            for version in entry["versions"]:
                content = by_hash.get(version["sha256"])
                if content is None:
                    continue    # pinned content no longer in schemas/: ids stay unknown
                found = ArtifactVersion(entry["group"], entry["artifactId"], version["version"],
                                        version["globalId"], version["contentId"], content)
                self._versions.setdefault((found.group, found.artifact), []).append(found)
                self._by_ref[SchemaRef("globalId", found.global_id)] = content
                self._by_ref[SchemaRef("contentId", found.content_id)] = content
                self._by_ref[SchemaRef("confluentId", found.content_id)] = content
                if version["version"] == entry["latest"]:
                    self._latest[(found.group, found.artifact)] = found

    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        if (group, artifact) not in self._latest:
            raise NotFound(f"{group}/{artifact} is not pinned in {self.path} (or its pinned file changed).")
        return self._latest[(group, artifact)]

    def schema(self, ref: SchemaRef) -> str:
        if ref not in self._by_ref:
            raise NotFound(f"{ref.kind} {ref.id} is not pinned in {self.path}.")
        return self._by_ref[ref]

    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        return sorted(self._versions.get((group, artifact), []), key=lambda v: v.global_id)


def lock_document(registry_url: str, versions: dict[tuple[str, str], list[ArtifactVersion]],
                  resolved_at: str | None = None) -> dict[str, Any]:
    return {
        "registry": registry_url,
        "resolved_at": resolved_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "artifacts": [{"group": g, "artifactId": a, "latest": found[-1].version,
                       "versions": [{"version": v.version, "globalId": v.global_id, "contentId": v.content_id,
                                     "sha256": v.sha256} for v in found]}
                      for (g, a), found in sorted(versions.items())],
    }
