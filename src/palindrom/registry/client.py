"""A small Apicurio Registry client on ``requests``: REST v3, falling back to v2 on 2.x servers.

Retries (exponential backoff with full jitter) only on connection errors, timeouts and 5xx;
4xx answers are final and mapped to typed errors from the server's problem-details body. Content
looked up by id is immutable and cached for the life of the process; "latest" is cached for
``latest_ttl`` seconds.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import requests

from palindrom.avro import references
from palindrom.avro.wire import SchemaRef
from palindrom.registry.auth import Auth, NoAuth
from palindrom.registry.errors import NotFound, RegistryAuthError, RegistryError, RegistryUnavailable, RuleViolation

ApiVersion = Literal["v3", "v2"]


@dataclass(frozen=True)
class ArtifactVersion:
    group: str
    artifact: str
    version: str
    global_id: int
    content_id: int
    content: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()


@dataclass(frozen=True)
class Reference:
    """A named type this schema uses from another artifact version (Apicurio ArtifactReference)."""

    name: str            # the type's full name, as the referencing schema writes it
    group: str
    artifact: str
    version: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "groupId": self.group, "artifactId": self.artifact, "version": self.version}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Reference:
        return cls(str(value["name"]), str(value.get("groupId") or "default"), str(value["artifactId"]),
                   str(value["version"]))


class RegistryClient:
    def __init__(self, url: str, auth: Auth | None = None, *, timeout: float = 10.0, retries: int = 4,
                 backoff: float = 0.2, api: ApiVersion | Literal["auto"] = "auto", latest_ttl: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.auth = auth or NoAuth()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.latest_ttl = latest_ttl
        self._api: ApiVersion | None = None if api == "auto" else api
        self._session = requests.Session()
        self._by_ref: dict[SchemaRef, str] = {}
        self._latest: dict[tuple[str, str], tuple[float, ArtifactVersion]] = {}
        self._lock = threading.Lock()

    # -- transport -------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                 raw: str | None = None, headers: dict[str, str] | None = None) -> requests.Response:
        url = self.url + path
        attempt = 0
        refreshed = False
        while True:
            try:
                sent = {**self.auth.headers(self._session, self.timeout), **(headers or {})}
                response = self._session.request(method, url, params=params, json=body, data=raw, headers=sent,
                                                  timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = f"{type(exc).__name__} for {method} {path}"
            else:
                if response.status_code == 401 and not refreshed and self.auth.invalidate():
                    refreshed = True              # an expired or revoked token: fetch a new one once
                    continue
                if response.status_code < 500:
                    return self._check(response, method, path)
                failure = f"HTTP {response.status_code} for {method} {path}"
            if attempt >= self.retries:
                raise RegistryUnavailable(f"registry {self.url} unavailable after {attempt + 1} attempts: {failure}")
            time.sleep(random.uniform(0, self.backoff * 2**attempt))  # noqa: S311 - jitter, not security
            attempt += 1

    def _check(self, response: requests.Response, method: str, path: str) -> requests.Response:
        status = response.status_code
        if status < 400:
            return response
        problem = _problem(response)
        detail = problem.get("detail") or problem.get("message") or problem.get("title") or response.reason
        where = f"{method} {path}"
        if problem.get("name") == "RuleViolationException" or (status == 409 and problem.get("causes")):
            causes = [str(c.get("description", c)) + (f" ({c['context']})" if c.get("context") else "")
                      for c in problem.get("causes") or []]
            raise RuleViolation(f"{detail}", causes, status)
        if status in (401, 403):
            raise RegistryAuthError(f"registry refused {where} (HTTP {status}): {detail}. Check the registry "
                                    "credentials in the environment or secret scope.", status)
        if status == 404:
            raise NotFound(f"{where}: {detail}", status)
        raise RegistryError(f"{where} failed (HTTP {status}): {detail}", status)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    @property
    def api(self) -> ApiVersion:
        """v3 when the server serves it, else v2 (Apicurio 2.x)."""
        if self._api is None:
            try:
                self._request("GET", "/apis/registry/v3/system/info")
                self._api = "v3"
            except NotFound:
                self._api = "v2"
        return self._api

    def _base(self) -> str:
        return f"/apis/registry/{self.api}"

    @staticmethod
    def _artifact(group: str, artifact: str) -> str:
        return f"/groups/{quote(group, safe='')}/artifacts/{quote(artifact, safe='')}"

    # -- reads -----------------------------------------------------------------------------
    def _read(self, group: str, artifact: str, version: str | None, dereference: bool) -> ArtifactVersion:
        """Metadata and content of a version (``None``: the latest), dereferenced or as registered."""
        base = self._base() + self._artifact(group, artifact)
        if self.api == "v3":
            expr = "branch=latest" if version is None else quote(version, safe="")
            meta = self._json("GET", f"{base}/versions/{expr}")
            content = self._request("GET", f"{base}/versions/{expr}/content",
                                    params={"references": "DEREFERENCE"} if dereference else None).text
        else:
            expr = "latest" if version is None else quote(version, safe="")
            meta = self._json("GET", f"{base}/versions/{expr}/meta")
            content = self._request("GET", f"{base}/versions/{expr}",
                                    params={"dereference": "true"} if dereference else None).text
        return ArtifactVersion(group, artifact, str(meta["version"]), int(meta["globalId"]), int(meta["contentId"]),
                               content)

    def version(self, group: str, artifact: str, version: str | None = None) -> ArtifactVersion:
        """A version's metadata and dereferenced content; ``None`` means the latest."""
        found = self._read(group, artifact, version, dereference=True)
        with self._lock:
            self._by_ref[SchemaRef("globalId", found.global_id)] = found.content
            self._by_ref[SchemaRef("contentId", found.content_id)] = found.content
        return found

    def published(self, group: str, artifact: str, version: str) -> tuple[ArtifactVersion, tuple[Reference, ...]]:
        """A version as it was registered: its raw content (not dereferenced) and its references,
        which is what ``schemas/`` and the lockfile hold."""
        found = self._read(group, artifact, version, dereference=False)
        listed = self._json("GET", self._base() + self._artifact(group, artifact)
                            + f"/versions/{quote(version, safe='')}/references")
        return found, tuple(Reference.from_json(r) for r in listed)

    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        now = time.monotonic()
        cached = self._latest.get((group, artifact))
        if cached and now - cached[0] < self.latest_ttl:
            return cached[1]
        found = self.version(group, artifact)
        self._latest[(group, artifact)] = (now, found)
        return found

    def schema(self, ref: SchemaRef) -> str:
        """Content by globalId, contentId or Confluent id (ccompat); cached, ids are immutable."""
        with self._lock:
            if ref in self._by_ref:
                return self._by_ref[ref]
        if ref.kind == "confluentId":
            found = self._json("GET", f"/apis/ccompat/v7/schemas/ids/{ref.id}")
            if found.get("references"):
                raise RegistryError(f"Confluent schema id {ref.id} references other schemas, which this client "
                                    "does not resolve through ccompat; use an Apicurio wire format (apicurio3, "
                                    "apicurio2 or headers) for sources whose schemas have references.")
            content = str(found["schema"])
        elif ref.kind == "globalId":
            params = {"references": "DEREFERENCE"} if self.api == "v3" else {"dereference": "true"}
            content = self._request("GET", f"{self._base()}/ids/globalIds/{ref.id}", params=params).text
        else:
            # Content by contentId is served raw (no dereferencing): inline its references here.
            content = self._request("GET", f"{self._base()}/ids/contentIds/{ref.id}").text
            try:
                listed = self._json("GET", f"{self._base()}/ids/contentIds/{ref.id}/references")
            except NotFound:
                listed = []       # a server without reference support
            content = references.inline(content, {
                str(r["name"]): self.version(str(r.get("groupId") or "default"), str(r["artifactId"]),
                                             str(r["version"])).content for r in listed})
        with self._lock:
            self._by_ref[ref] = content
        return content

    def versions(self, group: str, artifact: str) -> list[str]:
        body = self._json("GET", self._base() + self._artifact(group, artifact) + "/versions",
                          params={"limit": 1000} if self.api == "v3" else None)
        items = body.get("versions", body) if isinstance(body, dict) else body
        if items and isinstance(items[0], dict) and "globalId" in items[0]:
            items = sorted(items, key=lambda v: int(v["globalId"]))   # creation order, whatever the page order
        return [str(v["version"]) if isinstance(v, dict) else str(v) for v in items]

    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        """Every version with its content, oldest first (a writer schema is looked up among them)."""
        return [self.version(group, artifact, v) for v in self.versions(group, artifact)]

    def compatibility(self, group: str, artifact: str) -> str:
        """The effective COMPATIBILITY rule: artifact, else group (v3), else global, else NONE."""
        paths = [self._base() + self._artifact(group, artifact) + "/rules/COMPATIBILITY"]
        if self.api == "v3":
            paths.append(f"{self._base()}/groups/{quote(group, safe='')}/rules/COMPATIBILITY")
        paths.append(f"{self._base()}/admin/rules/COMPATIBILITY")
        for path in paths:
            try:
                return str(self._json("GET", path)["config"])
            except NotFound:
                continue
        return "NONE"

    # -- writes ----------------------------------------------------------------------------
    def register(self, group: str, artifact: str, content: str, *, dry_run: bool = False,
                 references: Sequence[Reference] = ()) -> ArtifactVersion | None:
        """Create the artifact or a new version (an identical latest version is found, not duplicated).

        ``dry_run`` runs the rules without writing; a violation raises RuleViolation either way.
        ``references`` name the other artifact versions whose types ``content`` uses.
        Returns the version written (None for a dry run), its content as registered (not dereferenced).
        """
        refs = [r.to_json() for r in references]
        if self.api == "v3":
            version = {"content": content, "contentType": "application/json", "references": refs}
            payload = {"artifactId": artifact, "artifactType": "AVRO", "firstVersion": {"content": version}}
            body = self._json("POST", f"{self._base()}/groups/{quote(group, safe='')}/artifacts", body=payload,
                              params={"ifExists": "FIND_OR_CREATE_VERSION", "dryRun": str(dry_run).lower()})
            if dry_run:
                return None
            meta = body.get("version", body)
        else:
            headers = {"Content-Type": "application/json"}
            if dry_run:
                try:
                    self._request("PUT", self._base() + self._artifact(group, artifact) + "/test", raw=content,
                                  headers=headers)
                except NotFound:
                    pass   # a new artifact: only validity applies, nothing to be compatible with
                return None
            if refs:   # v2 takes references in its extended create body
                raw, headers = (json.dumps({"content": content, "references": refs}),
                                {"Content-Type": "application/create.extended+json"})
            else:
                raw = content
            meta = self._json("POST", f"{self._base()}/groups/{quote(group, safe='')}/artifacts", raw=raw,
                              params={"ifExists": "RETURN_OR_UPDATE"},
                              headers={**headers, "X-Registry-ArtifactId": artifact, "X-Registry-ArtifactType": "AVRO"})
        self._latest.pop((group, artifact), None)
        return ArtifactVersion(group, artifact, str(meta["version"]), int(meta["globalId"]), int(meta["contentId"]),
                               content)


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, ValueError):
        return {"detail": response.text[:200]}
    return body if isinstance(body, dict) else {}
