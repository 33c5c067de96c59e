"""``schemas/`` as a registry, and the lockfile that pins what a real registry resolved.

Layout (docs/data-schemas.md)::

    schemas/registry.yml                       groups and their COMPATIBILITY rule
    schemas/<group>/<artifactId>/v<N>.avsc     version N of an artifact (Apicurio group id / artifact id)
    schemas/<group>/<artifactId>/v<N>.references.yml
                                               optional: the named types version N uses from other
                                               artifacts (name, artifact: <group>/<artifactId>, version)
    schemas/registry.<env>.lock.json           per environment: versions, globalId, contentId, sha256
                                               of the registered content and its references, last
                                               resolved from that environment's registry

``LocalRegistry`` answers like a registry that received every file in order: globalIds count up
over (group, artifact, version); contentIds over distinct contents. ``LockedRegistry`` answers from
the lockfile and the files it pins, for when the configured registry cannot be reached. Both serve
schemas dereferenced (self-contained), as the registry does; ``published`` gives the registered
form (raw content and references) that publishing and the lockfile deal in.
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

from palindrom.avro import compatibility, references
from palindrom.avro.wire import SchemaRef
from palindrom.registry.client import ArtifactVersion, Reference
from palindrom.registry.errors import NotFound, RegistryError, RuleViolation


def lockfile(directory: Path, environment: str) -> Path:
    return directory / f"registry.{environment}.lock.json"


_VERSION_FILE = re.compile(r"^v(\d+)\.(avsc|references\.yml)$")
Published = tuple[ArtifactVersion, tuple[Reference, ...]]   # raw content as registered, its references


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
    references: tuple[tuple[Reference, ...], ...] = ()   # per version, same order


def _read_references(path: Path) -> tuple[Reference, ...]:
    entries = yaml.safe_load(path.read_text()) or []
    found = []
    for n, entry in enumerate(entries if isinstance(entries, list) else [None], start=1):
        if not isinstance(entry, dict) or not {"name", "artifact", "version"} <= set(entry) \
                or str(entry["artifact"]).count("/") != 1:
            raise RegistryError(f"{path}: entry {n} must have name (the type's full name), artifact "
                                "(<group>/<artifactId>) and version.")
        group, artifact = str(entry["artifact"]).split("/")
        found.append(Reference(str(entry["name"]), group, artifact, str(entry["version"])))
    return tuple(found)


def sha256(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def artifacts(directory: Path) -> list[LocalArtifact]:
    settings = yaml.safe_load((directory / "registry.yml").read_text()) if (directory / "registry.yml").exists() else {}
    groups = (settings or {}).get("groups", {})
    found = []
    for group_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        rule = str(groups.get(group_dir.name, {}).get("compatibility", "BACKWARD"))
        for artifact_dir in sorted(p for p in group_dir.iterdir() if p.is_dir()):
            numbered, refs = [], {}
            for path in artifact_dir.iterdir():
                match = _VERSION_FILE.match(path.name)
                if match is None:
                    raise RegistryError(f"{path}: schema files are named v<N>.avsc (v1.avsc, v2.avsc, ...), "
                                        "with an optional v<N>.references.yml.")
                if match[2] == "avsc":
                    numbered.append((int(match[1]), path))
                else:
                    refs[int(match[1])] = _read_references(path)
            numbered.sort()
            if [n for n, _ in numbered] != list(range(1, len(numbered) + 1)):
                raise RegistryError(f"{artifact_dir}: versions must be v1..vN without gaps, found "
                                    f"{[n for n, _ in numbered]}.")
            stray = sorted(set(refs) - {n for n, _ in numbered})
            if stray:
                raise RegistryError(f"{artifact_dir}: v{stray[0]}.references.yml has no v{stray[0]}.avsc.")
            found.append(LocalArtifact(group_dir.name, artifact_dir.name, tuple(p for _, p in numbered), rule,
                                       tuple(refs.get(n, ()) for n, _ in numbered)))
    return found


class _Dereferencing:
    """Registered versions (raw content + references) and their self-contained forms."""

    source: str                                             # named in errors

    def _index(self, published: list[Published]) -> None:
        self._published = {(v.group, v.artifact, v.version): (v, refs) for v, refs in published}
        self._expanded: dict[tuple[str, str, str], str] = {}
        self._versions: dict[tuple[str, str], list[ArtifactVersion]] = {}
        self._by_ref: dict[SchemaRef, str] = {}
        for raw, _ in published:
            try:
                content = self._dereferenced((raw.group, raw.artifact, raw.version), ())
            except NotFound:
                continue    # a reference the source does not hold: the version stays unknown
            version = ArtifactVersion(raw.group, raw.artifact, raw.version, raw.global_id, raw.content_id, content)
            self._versions.setdefault((raw.group, raw.artifact), []).append(version)
            self._by_ref[SchemaRef("globalId", raw.global_id)] = content
            self._by_ref[SchemaRef("contentId", raw.content_id)] = content
            self._by_ref[SchemaRef("confluentId", raw.content_id)] = content

    def _dereferenced(self, key: tuple[str, str, str], chain: tuple[tuple[str, str, str], ...]) -> str:
        if key in self._expanded:
            return self._expanded[key]
        if key in chain:
            raise RegistryError(f"{self.source}: references form a cycle: "
                                + " -> ".join(f"{g}/{a} v{v}" for g, a, v in (*chain, key)))
        if key not in self._published:
            raise NotFound(f"{key[0]}/{key[1]} v{key[2]} is not in {self.source}")
        raw, refs = self._published[key]
        definitions = {r.name: self._dereferenced((r.group, r.artifact, r.version), (*chain, key)) for r in refs}
        self._expanded[key] = references.inline(raw.content, definitions)
        return self._expanded[key]

    def schema(self, ref: SchemaRef) -> str:
        if ref not in self._by_ref:
            raise NotFound(f"no schema with {ref.kind} {ref.id} in {self.source}")
        return self._by_ref[ref]

    def published(self, group: str, artifact: str) -> list[Published]:
        """Every version as registered (raw content and references), oldest first."""
        return sorted((p for (g, a, _), p in self._published.items() if (g, a) == (group, artifact)),
                      key=lambda p: p[0].global_id)


class LocalRegistry(_Dereferencing):
    """The default registry locally: every schema file, registered in order, no server."""

    url = "local"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.source = str(directory)
        self.artifacts = {(a.group, a.artifact): a for a in artifacts(directory)}
        published: list[Published] = []
        global_id, content_ids = 0, dict[str, int]()
        for key, artifact in self.artifacts.items():
            for number, (path, refs) in enumerate(zip(artifact.files, artifact.references, strict=True), start=1):
                content = path.read_text()
                global_id += 1
                identity = sha256(content) + json.dumps([r.to_json() for r in refs])
                content_id = content_ids.setdefault(identity, len(content_ids) + 1)
                published.append((ArtifactVersion(key[0], key[1], str(number), global_id, content_id, content), refs))
        held = {(v.group, v.artifact, v.version) for v, _ in published}
        for raw, refs in published:
            for ref in refs:
                if (ref.group, ref.artifact, ref.version) not in held:
                    raise RegistryError(f"{directory / raw.group / raw.artifact}/v{raw.version}.references.yml: "
                                        f"{ref.group}/{ref.artifact} v{ref.version} (for {ref.name}) is not in "
                                        f"{directory}; add it or fix the reference.")
        self._index(published)

    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        if (group, artifact) not in self._versions:
            raise NotFound(f"no artifact {group}/{artifact} under {self.directory}")
        return self._versions[(group, artifact)]

    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        return self.all_versions(group, artifact)[-1]

    def check(self, group: str, artifact: str) -> None:
        """Every version must satisfy the group's COMPATIBILITY rule against its predecessors."""
        versions = self.all_versions(group, artifact)
        rule = self.artifacts[(group, artifact)].compatibility
        parsed = [json.loads(v.content) for v in versions]
        for index in range(1, len(parsed)):
            found = compatibility.violations(rule, parsed[index], parsed[:index])
            if found:
                raise RuleViolation(f"{group}/{artifact} v{index + 1} violates {rule} compatibility", found, 409)


class LockedRegistry(_Dereferencing):
    """Answers from an environment's lockfile and the schema files it pins by hash."""

    def __init__(self, directory: Path, environment: str) -> None:
        path = self.path = lockfile(directory, environment)
        self.source = str(path)
        if not path.exists():
            raise RegistryError(f"{path} does not exist; run `pipelines registry pull` while the registry is up.")
        self.lock = json.loads(path.read_text())
        by_hash = {sha256(p.read_text()): p.read_text() for p in directory.rglob("v*.avsc")}
        published: list[Published] = []
        latest: dict[tuple[str, str], str] = {}
        for entry in self.lock["artifacts"]:
            latest[(entry["group"], entry["artifactId"])] = entry["latest"]
            for version in entry["versions"]:
                content = by_hash.get(version["sha256"])
                if content is None:
                    continue    # pinned content no longer in schemas/: ids stay unknown
                refs = tuple(Reference.from_json(r) for r in version.get("references", []))
                published.append((ArtifactVersion(entry["group"], entry["artifactId"], version["version"],
                                                  version["globalId"], version["contentId"], content), refs))
        self._index(published)
        self._latest = {key: v for key, found in self._versions.items() for v in found if v.version == latest[key]}

    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        if (group, artifact) not in self._latest:
            raise NotFound(f"{group}/{artifact} is not pinned in {self.path} (or its pinned file changed).")
        return self._latest[(group, artifact)]

    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        return sorted(self._versions.get((group, artifact), []), key=lambda v: v.global_id)


def _pinned(version: ArtifactVersion, refs: tuple[Reference, ...]) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": version.version, "globalId": version.global_id,
                             "contentId": version.content_id, "sha256": version.sha256}
    if refs:
        entry["references"] = [r.to_json() for r in refs]
    return entry


def lock_document(registry_url: str, versions: dict[tuple[str, str], list[Published]],
                  resolved_at: str | None = None) -> dict[str, Any]:
    """``versions``: per artifact, every version as registered (raw content, references)."""
    return {
        "registry": registry_url,
        "resolved_at": resolved_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "artifacts": [{"group": g, "artifactId": a, "latest": found[-1][0].version,
                       "versions": [_pinned(v, refs) for v, refs in found]}
                      for (g, a), found in sorted(versions.items())],
    }
