"""A small Apicurio Registry client on ``requests``: REST v3, falling back to v2 on 2.x servers.

Every lookup (a public method call, with the requests it makes) has one overall ``deadline``:
attempts share it, each waits at most ``timeout`` and never past the deadline, so a registry that
accepts connections and never answers costs one deadline, not retries x timeout. Retries
(exponential backoff with full jitter, within the deadline) only on connection errors, timeouts,
5xx and an unavailable identity provider; 4xx answers are final and mapped to typed errors from
the server's problem-details body. Answers that are not what the API returns (an HTML page with
200, a body that is not an Avro schema) raise ``InvalidResponse`` naming the URL and what came.
Content looked up by id is immutable and cached for the life of the process; "latest" is cached
for ``latest_ttl`` seconds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar, cast
from urllib.parse import quote

import fastavro
import fastavro.schema
import requests

from palindrom.avro import references
from palindrom.avro.wire import SchemaRef
from palindrom.registry.auth import Auth, NoAuth
from palindrom.registry.errors import (
    IdentityProviderUnavailable,
    InvalidResponse,
    NotFound,
    RegistryAuthError,
    RegistryError,
    RegistryUnavailable,
    RuleViolation,
)

ApiVersion = Literal["v3", "v2"]
Params = ParamSpec("Params")
Result = TypeVar("Result")
CHUNK = 64 * 1024


class DeadlineReached(requests.Timeout):
    """The lookup's deadline passed before an attempt could start or finish reading."""


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


@dataclass(frozen=True)
class Reply:
    """A registry answer, read completely within the lookup's deadline."""

    method: str
    url: str
    status: int
    reason: str
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def received(self) -> str:
        """What came, for error messages: status, content type and the start of the body."""
        snippet = " ".join(self.text.split())[:120]
        return (f"HTTP {self.status} {self.content_type or 'without a content type'}"
                + (f": {snippet!r}" if snippet else " and an empty body"))

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidResponse(f"registry answered {self.method} {self.url} with {self.received()}, "
                                  "where the registry API returns JSON; is the URL an Apicurio Registry "
                                  "(not a proxy or login page)?", self.status) from None


def field_of(document: Any, key: str, reply: Reply) -> Any:
    """``document[key]``, or InvalidResponse saying the answer lacks it."""
    if not isinstance(document, dict) or key not in document:
        raise InvalidResponse(f"registry answered {reply.method} {reply.url} with {reply.received()}, "
                              f"which has no '{key}'", reply.status)
    return document[key]


def avro_schema(text: str, reply: Reply, names: Sequence[str] = ()) -> str:
    """``text`` when it is an Avro schema (``names``: referenced types it may use undefined)."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidResponse(f"registry answered {reply.method} {reply.url} with {reply.received()}, which is "
                              "not an Avro schema (not JSON)", reply.status) from None
    placeholders = {n: {"type": "record", "name": n, "fields": []} for n in names}
    try:
        if schema == [] or not isinstance(schema, (dict, list, str)):
            raise ValueError("not a schema")
        fastavro.parse_schema(schema, named_schemas=placeholders, _write_hint=False)
    except (fastavro.schema.SchemaParseException, fastavro.schema.UnknownType, ValueError, TypeError, KeyError,
            AttributeError) as exc:
        raise InvalidResponse(f"registry answered {reply.method} {reply.url} with {reply.received()}, which is "
                              f"not an Avro schema ({type(exc).__name__}: {exc})", reply.status) from None
    return text


def _lookup(method: Callable[Params, Result]) -> Callable[Params, Result]:
    """Run a public method under one deadline; calls it makes to other public methods share it."""

    @functools.wraps(method)
    def bounded(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        client = cast(RegistryClient, args[0])
        if getattr(client._local, "deadline", None) is not None:
            return method(*args, **kwargs)
        client._local.deadline = time.monotonic() + client.deadline
        try:
            return method(*args, **kwargs)
        finally:
            client._local.deadline = None

    return bounded


class RegistryClient:
    def __init__(self, url: str, auth: Auth | None = None, *, timeout: float = 5.0, deadline: float = 10.0,
                 retries: int = 4, backoff: float = 0.2, api: ApiVersion | Literal["auto"] = "auto",
                 latest_ttl: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.auth = auth or NoAuth()
        self.timeout = timeout            # per attempt
        self.deadline = deadline          # per lookup, every attempt and backoff included
        self.retries = retries
        self.backoff = backoff
        self.latest_ttl = latest_ttl
        self._api: ApiVersion | None = None if api == "auto" else api
        self._session = requests.Session()
        self._by_ref: dict[SchemaRef, str] = {}
        self._latest: dict[tuple[str, str], tuple[float, ArtifactVersion]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- transport -------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                 raw: str | None = None, headers: dict[str, str] | None = None) -> Reply:
        url = self.url + path
        deadline = getattr(self._local, "deadline", None) or time.monotonic() + self.deadline
        attempt = 0
        refreshed = False
        while True:
            remaining = deadline - time.monotonic()
            failure: str
            unavailable: type[RegistryUnavailable] = RegistryUnavailable
            try:
                if remaining <= 0:
                    raise DeadlineReached("no time left before the deadline")
                wait = min(self.timeout, remaining)
                sent = {**self.auth.headers(self._session, wait), **(headers or {})}
                reply = self._send(method, url, params, body, raw, sent, wait, deadline)
            except IdentityProviderUnavailable as exc:
                failure, unavailable = str(exc), IdentityProviderUnavailable
            except DeadlineReached as exc:
                failure = f"{exc} for {method} {path}"
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                failure = f"{type(exc).__name__} for {method} {path}"
            else:
                if reply.status == 401 and not refreshed and self.auth.invalidate():
                    refreshed = True              # an expired or revoked token: fetch a new one once
                    continue
                if reply.status < 500:
                    return self._check(reply, path)
                failure = f"HTTP {reply.status} for {method} {path}"
            pause = random.uniform(0, self.backoff * 2**attempt)  # noqa: S311 - jitter, not security
            if attempt >= self.retries or time.monotonic() + pause >= deadline:
                raise unavailable(f"registry {self.url} unavailable after {attempt + 1} attempts: {failure} "
                                  f"(deadline {self.deadline:g} s per lookup)")
            time.sleep(pause)
            attempt += 1

    def _send(self, method: str, url: str, params: dict[str, Any] | None, body: Any, raw: str | None,
              headers: dict[str, str], wait: float, deadline: float) -> Reply:
        """One attempt, its body read in chunks so that a trickling answer cannot outlast the deadline."""
        with self._session.request(method, url, params=params, json=body, data=raw, headers=headers,
                                   timeout=wait, stream=True) as response:
            # read1 returns what has arrived (urllib3 2); read would wait for a whole chunk.
            read = getattr(response.raw, "read1", None) or response.raw.read
            chunks = []
            while chunk := read(CHUNK, decode_content=True):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise DeadlineReached(f"answer still arriving at the deadline ({sum(map(len, chunks))} bytes "
                                          "read)")
            return Reply(method, response.url, response.status_code, response.reason or "",
                         response.headers.get("Content-Type", ""), b"".join(chunks))

    def _check(self, reply: Reply, path: str) -> Reply:
        status = reply.status
        if status < 400:
            return reply
        problem = _problem(reply)
        detail = problem.get("detail") or problem.get("message") or problem.get("title") or reply.reason
        where = f"{reply.method} {path}"
        if problem.get("name") == "RuleViolationException" or (status == 409 and problem.get("causes")):
            causes = [str(c.get("description", c)) + (f" ({c['context']})" if c.get("context") else "")
                      for c in problem.get("causes") or [] if isinstance(c, dict)]
            raise RuleViolation(f"{detail}", causes, status)
        if status in (401, 403):
            raise RegistryAuthError(f"registry refused {where} (HTTP {status}): {detail}. Check the registry "
                                    "credentials in the environment or secret scope.", status)
        if status == 404:
            raise NotFound(f"{where}: {detail}", status)
        raise RegistryError(f"{where} failed (HTTP {status}): {detail}", status)

    def _json(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Reply]:
        reply = self._request(method, path, **kwargs)
        return reply.json(), reply

    def _schema(self, path: str, params: dict[str, Any] | None = None, names: Sequence[str] = ()) -> str:
        reply = self._request("GET", path, params=params)
        return avro_schema(reply.text, reply, names)

    @property
    def api(self) -> ApiVersion:
        """v3 when the server serves it, else v2 (Apicurio 2.x)."""
        if self._api is None:
            self._api = self._detect_api()
        return self._api

    @_lookup
    def _detect_api(self) -> ApiVersion:
        try:
            self._request("GET", "/apis/registry/v3/system/info").json()
            return "v3"
        except NotFound:
            return "v2"

    def _base(self) -> str:
        return f"/apis/registry/{self.api}"

    @staticmethod
    def _artifact(group: str, artifact: str) -> str:
        return f"/groups/{quote(group, safe='')}/artifacts/{quote(artifact, safe='')}"

    @staticmethod
    def _version_of(meta: Any, reply: Reply, group: str, artifact: str, content: str) -> ArtifactVersion:
        try:
            return ArtifactVersion(group, artifact, str(field_of(meta, "version", reply)),
                                   int(field_of(meta, "globalId", reply)), int(field_of(meta, "contentId", reply)),
                                   content)
        except (TypeError, ValueError):
            raise InvalidResponse(f"registry answered {reply.method} {reply.url} with {reply.received()}: "
                                  "globalId and contentId must be numbers", reply.status) from None

    # -- reads -----------------------------------------------------------------------------
    def _read(self, group: str, artifact: str, version: str | None, dereference: bool,
              names: Sequence[str] = ()) -> ArtifactVersion:
        """Metadata and content of a version (``None``: the latest), dereferenced or as registered
        (``names``: the types its references define, which raw content uses undefined)."""
        base = self._base() + self._artifact(group, artifact)
        if self.api == "v3":
            expr = "branch=latest" if version is None else quote(version, safe="")
            meta, reply = self._json("GET", f"{base}/versions/{expr}")
            content = self._schema(f"{base}/versions/{expr}/content",
                                   {"references": "DEREFERENCE"} if dereference else None, names)
        else:
            expr = "latest" if version is None else quote(version, safe="")
            meta, reply = self._json("GET", f"{base}/versions/{expr}/meta")
            content = self._schema(f"{base}/versions/{expr}", {"dereference": "true"} if dereference else None, names)
        return self._version_of(meta, reply, group, artifact, content)

    @_lookup
    def version(self, group: str, artifact: str, version: str | None = None) -> ArtifactVersion:
        """A version's metadata and dereferenced content; ``None`` means the latest."""
        found = self._read(group, artifact, version, dereference=True)
        with self._lock:
            self._by_ref[SchemaRef("globalId", found.global_id)] = found.content
            self._by_ref[SchemaRef("contentId", found.content_id)] = found.content
        return found

    @_lookup
    def published(self, group: str, artifact: str, version: str) -> tuple[ArtifactVersion, tuple[Reference, ...]]:
        """A version as it was registered: its raw content (not dereferenced) and its references,
        which is what ``schemas/`` and the lockfile hold."""
        listed, reply = self._json("GET", self._base() + self._artifact(group, artifact)
                                   + f"/versions/{quote(version, safe='')}/references")
        refs = _references(listed, reply)
        found = self._read(group, artifact, version, dereference=False, names=[r.name for r in refs])
        return found, refs

    @_lookup
    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        now = time.monotonic()
        cached = self._latest.get((group, artifact))
        if cached and now - cached[0] < self.latest_ttl:
            return cached[1]
        found = self.version(group, artifact)
        self._latest[(group, artifact)] = (now, found)
        return found

    @_lookup
    def schema(self, ref: SchemaRef) -> str:
        """Content by globalId, contentId or Confluent id (ccompat); cached, ids are immutable."""
        with self._lock:
            if ref in self._by_ref:
                return self._by_ref[ref]
        if ref.kind == "confluentId":
            found, reply = self._json("GET", f"/apis/ccompat/v7/schemas/ids/{ref.id}")
            if isinstance(found, dict) and found.get("references"):
                raise RegistryError(f"Confluent schema id {ref.id} references other schemas, which this client "
                                    "does not resolve through ccompat; use an Apicurio wire format (apicurio3, "
                                    "apicurio2 or headers) for sources whose schemas have references.")
            content = avro_schema(str(field_of(found, "schema", reply)), reply)
        elif ref.kind == "globalId":
            params = {"references": "DEREFERENCE"} if self.api == "v3" else {"dereference": "true"}
            content = self._schema(f"{self._base()}/ids/globalIds/{ref.id}", params)
        else:
            # Content by contentId is served raw (no dereferencing): inline its references here.
            try:
                listed, reply = self._json("GET", f"{self._base()}/ids/contentIds/{ref.id}/references")
                refs = _references(listed, reply)
            except NotFound:
                refs = ()       # a server without reference support
            content = self._schema(f"{self._base()}/ids/contentIds/{ref.id}", names=[r.name for r in refs])
            content = references.inline(content, {
                r.name: self.version(r.group, r.artifact, r.version).content for r in refs})
        with self._lock:
            self._by_ref[ref] = content
        return content

    @_lookup
    def versions(self, group: str, artifact: str) -> list[str]:
        body, reply = self._json("GET", self._base() + self._artifact(group, artifact) + "/versions",
                                 params={"limit": 1000} if self.api == "v3" else None)
        items = body.get("versions") if isinstance(body, dict) else body
        if not isinstance(items, list) or not all(isinstance(v, (str, int)) or (isinstance(v, dict) and "version" in v)
                                                  for v in items):
            raise InvalidResponse(f"registry answered {reply.method} {reply.url} with {reply.received()}, which is "
                                  "not a list of versions", reply.status)
        if items and all(isinstance(v, dict) and "globalId" in v for v in items):
            items = sorted(items, key=lambda v: int(v["globalId"]))   # creation order, whatever the page order
        return [str(v["version"]) if isinstance(v, dict) else str(v) for v in items]

    @_lookup
    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        """Every version with its content, oldest first (a writer schema is looked up among them)."""
        return [self.version(group, artifact, v) for v in self.versions(group, artifact)]

    @_lookup
    def compatibility(self, group: str, artifact: str) -> str:
        """The effective COMPATIBILITY rule: artifact, else group (v3), else global, else NONE."""
        paths = [self._base() + self._artifact(group, artifact) + "/rules/COMPATIBILITY"]
        if self.api == "v3":
            paths.append(f"{self._base()}/groups/{quote(group, safe='')}/rules/COMPATIBILITY")
        paths.append(f"{self._base()}/admin/rules/COMPATIBILITY")
        for path in paths:
            try:
                rule, reply = self._json("GET", path)
            except NotFound:
                continue
            return str(field_of(rule, "config", reply))
        return "NONE"

    # -- writes ----------------------------------------------------------------------------
    @_lookup
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
            body, reply = self._json("POST", f"{self._base()}/groups/{quote(group, safe='')}/artifacts",
                                     body=payload,
                                     params={"ifExists": "FIND_OR_CREATE_VERSION", "dryRun": str(dry_run).lower()})
            if dry_run:
                return None
            meta = body.get("version", body) if isinstance(body, dict) else body
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
            meta, reply = self._json("POST", f"{self._base()}/groups/{quote(group, safe='')}/artifacts", raw=raw,
                                     params={"ifExists": "RETURN_OR_UPDATE"},
                                     headers={**headers, "X-Registry-ArtifactId": artifact,
                                              "X-Registry-ArtifactType": "AVRO"})
        self._latest.pop((group, artifact), None)
        return self._version_of(meta, reply, group, artifact, content)


def _references(listed: Any, reply: Reply) -> tuple[Reference, ...]:
    try:
        return tuple(Reference.from_json(r) for r in listed)
    except (TypeError, KeyError, AttributeError):
        raise InvalidResponse(f"registry answered {reply.method} {reply.url} with {reply.received()}, which is "
                              "not a list of references (name, groupId, artifactId, version)", reply.status) from None


def _problem(reply: Reply) -> dict[str, Any]:
    try:
        body = json.loads(reply.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"detail": " ".join(reply.text.split())[:200]}
    return body if isinstance(body, dict) else {}
