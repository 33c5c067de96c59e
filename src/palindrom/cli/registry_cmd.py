"""``pipelines registry publish|check|pull``: the schema lifecycle between ``schemas/`` and a registry.

``schemas/<group>/<artifact>/v<N>.avsc`` are the versions, in order, with their references in
``v<N>.references.yml``. A registry holding K versions of an artifact gets the local versions
K+1..N; its version K must equal local vK (content and references). Artifacts are published after
the artifacts they reference.

* ``check``   (the CI gate) local versions follow their COMPATIBILITY rule, every unpublished
              version passes the registry's rules in a dry run, and the lockfile is current.
* ``publish`` dry-runs every new version first; writes only when all pass; then pulls the lockfile.
* ``pull``    writes ``schemas/registry.<env>.lock.json`` from what the registry resolves now; an
              answer that is not the registry's (an HTML page, content that is not an Avro schema)
              fails the command and leaves the lockfile unchanged.

Errors (registry unreachable, refused credentials, invalid answers) print one ``error:`` line and
exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from palindrom.registry import connect
from palindrom.registry.client import ArtifactVersion, RegistryClient
from palindrom.registry.errors import NotFound, RegistryError, RuleViolation
from palindrom.registry.local import LocalArtifact, LocalRegistry, Published, lock_document, lockfile
from palindrom.runtime import spec

Versions = dict[tuple[str, str], list[Published]]


def run(args: argparse.Namespace) -> int:
    schemas = args.schemas or connect.default_schemas_dir()
    try:
        configuration = spec.environment_configuration(args.env)
    except spec.ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = connect.settings_from(configuration)
    if args.url:
        settings["url"] = args.url
    try:
        local = LocalRegistry(schemas)
        remote = None if settings.get("url", "local") == "local" else connect.client_for(settings)
        if args.action == "check":
            return _check(local, remote, schemas, args.env, require_lock=args.lockfile == "require")
        return {"publish": _publish, "pull": _pull}[args.action](local, remote, schemas, args.env)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _name(artifact: LocalArtifact | ArtifactVersion) -> str:
    return f"{artifact.group}/{artifact.artifact}"


def _in_dependency_order(local: LocalRegistry) -> list[LocalArtifact]:
    """Artifacts after every artifact their versions reference (the registry needs those first)."""
    ordered: list[LocalArtifact] = []
    visiting: list[LocalArtifact] = []

    def visit(artifact: LocalArtifact) -> None:
        if artifact in ordered or artifact in visiting:
            return      # done, or artifacts referencing each other (versions cannot: LocalRegistry checks)
        visiting.append(artifact)
        for refs in artifact.references:
            for ref in refs:
                used = local.artifacts[(ref.group, ref.artifact)]
                if used is not artifact:
                    visit(used)
        ordered.append(artifact)

    for artifact in local.artifacts.values():
        visit(artifact)
    return ordered


def _unpublished(local: LocalRegistry, remote: RegistryClient, artifact: LocalArtifact) -> list[Published]:
    mine = local.published(artifact.group, artifact.artifact)
    try:
        theirs = remote.versions(artifact.group, artifact.artifact)
    except NotFound:
        return mine
    if len(theirs) > len(mine):
        raise RegistryError(f"{_name(artifact)}: the registry has {len(theirs)} versions, schemas/ only "
                            f"{len(mine)}; add the missing versions to schemas/ (pipelines registry pull shows them).")
    if theirs:
        latest, refs = remote.published(artifact.group, artifact.artifact, theirs[-1])
        local_latest, local_refs = mine[len(theirs) - 1]
        if json.loads(latest.content) != json.loads(local_latest.content) or refs != local_refs:
            raise RegistryError(f"{_name(artifact)}: registry version {theirs[-1]} differs from "
                                f"schemas/{artifact.group}/{artifact.artifact}/v{len(theirs)}.avsc (content or "
                                "references); published versions are immutable, add the change as a new version.")
    return mine[len(theirs):]


def _dry_run(local: LocalRegistry, remote: RegistryClient | None) -> list[tuple[ArtifactVersion, RuleViolation]]:
    failures: list[tuple[ArtifactVersion, RuleViolation]] = []
    for artifact in _in_dependency_order(local):
        try:
            local.check(artifact.group, artifact.artifact)
        except RuleViolation as exc:
            failures.append((local.latest(artifact.group, artifact.artifact), exc))
            continue
        if remote is None:
            continue
        for version, refs in _unpublished(local, remote, artifact):
            try:
                remote.register(version.group, version.artifact, version.content, dry_run=True, references=refs)
            except RuleViolation as exc:
                failures.append((version, exc))
                break
    for version, violation in failures:
        print(f"FAIL  {_name(version)} v{version.version}: {violation}")
        for cause in violation.causes:
            print(f"        - {cause}")
    return failures


def _resolved(local: LocalRegistry, remote: RegistryClient | None) -> Versions:
    if remote is None:
        return {key: local.published(*key) for key in local.artifacts}
    found: Versions = {}
    for group, artifact in local.artifacts:
        try:
            found[(group, artifact)] = [remote.published(group, artifact, v) for v in remote.versions(group, artifact)]
        except NotFound:
            continue
    return found


def _lock_is_current(local: LocalRegistry, remote: RegistryClient | None, schemas: Path, env: str) -> bool:
    path = lockfile(schemas, env)
    if not path.exists():
        print(f"FAIL  {path} does not exist; run `pipelines registry pull --env {env}`.")
        return False
    pinned = json.loads(path.read_text())
    current = lock_document(local.url if remote is None else remote.url, _resolved(local, remote),
                            resolved_at=pinned.get("resolved_at"))
    if pinned != current:
        print(f"FAIL  {path} is out of date with the registry; run `pipelines registry pull --env {env}` "
              "and commit it.")
        return False
    return True


def _check(local: LocalRegistry, remote: RegistryClient | None, schemas: Path, env: str,
           require_lock: bool = True) -> int:
    failures = _dry_run(local, remote)
    current = _lock_is_current(local, remote, schemas, env) if require_lock else True
    if not failures and current:
        lock = f"the {env} lockfile is current" if require_lock else "the lockfile was not checked"
        print(f"ok    {len(local.artifacts)} artifacts in {schemas} are compatible and {lock}.")
    return 0 if not failures and current else 1


def _publish(local: LocalRegistry, remote: RegistryClient | None, schemas: Path, env: str) -> int:
    if remote is None:
        print(f"The {env} registry is schemas/ itself; nothing to publish.")
        return _check(local, remote, schemas, env)
    if _dry_run(local, remote):
        print("Nothing was published: fix the versions above first.")
        return 1
    for artifact in _in_dependency_order(local):
        for version, refs in _unpublished(local, remote, artifact):
            written = remote.register(version.group, version.artifact, version.content, references=refs)
            assert written is not None  # noqa: S101 - a non-dry-run registration returns its version
            print(f"published {_name(version)} v{version.version} as registry version {written.version} "
                  f"(globalId {written.global_id}, contentId {written.content_id})")
    return _pull(local, remote, schemas, env)


def _pull(local: LocalRegistry, remote: RegistryClient | None, schemas: Path, env: str) -> int:
    # Everything is resolved (and every answer checked) before the lockfile is touched; then it is
    # replaced in one step, so a failed pull leaves the previous lockfile as it was.
    document = lock_document(local.url if remote is None else remote.url, _resolved(local, remote))
    path = lockfile(schemas, env)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    partial.replace(path)
    print(f"wrote {path} ({sum(len(a['versions']) for a in document['artifacts'])} versions)")
    return 0
