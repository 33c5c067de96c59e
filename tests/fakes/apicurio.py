"""A local HTTP server that answers as Apicurio Registry 3.x or 2.x does (NOTES §4).

3.x serves REST v3 (``branch=latest``; the literal ``latest`` is just an unknown version there),
v2 and ccompat; 2.x serves v2 and ccompat only. Errors are problem-details JSON (v3: ``title``,
``detail``, ``status``, ``name``; v2: ``error_code``, ``message``, ``name``). Rule violations answer
409 up to 3.2 and 400 from 3.3, always with ``name: RuleViolationException`` and ``causes``.
References: versions may reference other artifacts' types; content by globalId or version is
dereferenced on request (v3 ``references=DEREFERENCE``, v2 ``dereference=true``), by contentId it is
raw, with ``/ids/contentIds/{id}/references`` listing them.
Auth: none, basic, or bearer tokens from a client-credentials token endpoint (``/token``).
Faults on demand: the next requests fail with a status, drop the connection, or answer slowly.
Outages and impostors: ``hang`` (every registry request is accepted and never answered),
``html`` (every registry request answers 200 with an HTML page, as a proxy's login page does),
``token_fault`` (the token endpoint answers that status, an OAuth error for 4xx and an HTML page
for 5xx, or hangs), ``trickle`` (answers arrive a byte at a time). A body that is not an Avro schema is just ``add``-ed as content.

Its BACKWARD check is deliberately its own, simpler than the project's: added fields need a
default, kept fields keep their type (int->long and float->double allowed), enum symbols may only grow.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

HTML_PAGE = ("<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n"
             "<body><form action=\"/login\">Please sign in to continue.</form></body></html>\n")


@dataclass
class Version:
    version: str
    global_id: int
    content_id: int
    content: str
    references: list[dict[str, str]] = field(default_factory=list)   # name, groupId, artifactId, version


@dataclass
class FakeApicurio:
    server_version: str = "3.3.0"                 # "3.2.0": violations are 409; "2.6.0": no REST v3
    auth: str = "none"                            # none | basic | oidc
    username: str = "registry-user"
    password: str = ""
    client_id: str = "pipelines"
    client_secret: str = ""
    token_lifetime: int = 300
    compatibility: dict[str, str] = field(default_factory=dict)   # group -> rule (group level)
    artifacts: dict[tuple[str, str], list[Version]] = field(default_factory=dict)
    faults: list[Any] = field(default_factory=list)   # per request: int status, "drop", or ("slow", seconds)
    requests: list[str] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    url: str = ""
    hang: bool = False
    html: bool = False
    token_fault: int | str | None = None          # a status, or "hang"
    trickle: float = 0.0                          # > 0: registry answers arrive one byte per this many seconds
    released: threading.Event = field(default_factory=threading.Event)   # hanging requests end at exit

    @property
    def v3(self) -> bool:
        return self.server_version.startswith("3")

    def add(self, group: str, artifact: str, content: str, references: list[dict[str, str]] | None = None) -> Version:
        versions = self.artifacts.setdefault((group, artifact), [])
        contents = {v.content_id: v.content for vs in self.artifacts.values() for v in vs}
        digest = {hashlib.sha256(c.encode()).hexdigest(): i for i, c in contents.items()}
        content_id = digest.get(hashlib.sha256(content.encode()).hexdigest(), max(contents, default=0) + 1)
        global_id = 1 + max((v.global_id for vs in self.artifacts.values() for v in vs), default=0)
        found = Version(str(len(versions) + 1), global_id, content_id, content, list(references or []))
        versions.append(found)
        return found

    def find(self, kind: str, ident: int) -> Version | None:
        for versions in self.artifacts.values():
            for v in versions:
                if (v.global_id if kind == "globalIds" else v.content_id) == ident:
                    return v
        return None

    def dereferenced(self, version: Version) -> str:
        """The content with each reference's (dereferenced) definition at the first use of its name."""
        if not version.references:
            return version.content
        schema = json.loads(version.content)
        for ref in version.references:
            target = next(v for v in self.artifacts[(ref["groupId"], ref["artifactId"])] if v.version == ref["version"])
            schema, _ = _replace_first(schema, ref["name"], json.loads(self.dereferenced(target)))
        return json.dumps(schema)

    def violations(self, group: str, artifact: str, content: str) -> list[dict[str, str]]:
        try:
            new = json.loads(content)
        except json.JSONDecodeError as exc:
            return [{"description": f"Syntax violation for Avro artifact: {exc}", "context": "/"}]
        versions = self.artifacts.get((group, artifact))
        if self.compatibility.get(group, "NONE") != "BACKWARD" or not versions:
            return []
        old = json.loads(versions[-1].content)
        before = {f["name"]: f for f in old.get("fields", [])}
        found = []
        for f in new.get("fields", []):
            if f["name"] not in before:
                if "default" not in f:
                    found.append({"description": f"READER_FIELD_MISSING_DEFAULT_VALUE: {f['name']}",
                                  "context": f"/fields/{f['name']}"})
                continue
            was, now = before[f["name"]]["type"], f["type"]
            if was == now or (was, now) in (("int", "long"), ("float", "double"), (["null", "int"], ["null", "long"])):
                continue
            if isinstance(was, dict) and isinstance(now, dict) and was.get("type") == now.get("type") == "enum":
                if set(was["symbols"]) <= set(now["symbols"]):
                    continue
            found.append({"description": f"TYPE_MISMATCH: {f['name']} changed from {json.dumps(was)} "
                                         f"to {json.dumps(now)}", "context": f"/fields/{f['name']}"})
        return found

    def __enter__(self) -> FakeApicurio:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


def _replace_first(node: Any, name: str, definition: Any) -> tuple[Any, bool]:
    if node == name:
        return definition, True
    if isinstance(node, list):
        out, done = [], False
        for item in node:
            item, hit = (item, False) if done else _replace_first(item, name, definition)
            out.append(item)
            done = done or hit
        return out, done
    if isinstance(node, dict):
        out_d, done = {}, False
        for key, item in node.items():
            if key in ("name", "namespace", "doc", "default", "symbols"):
                out_d[key] = item
                continue
            out_d[key], hit = (item, False) if done else _replace_first(item, name, definition)
            done = done or hit
        return out_d, done
    return node, False


def _handler(fake: FakeApicurio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes; without this, Nagle's algorithm holds the body
            # for the client's delayed ACK (about 40 ms per request on a kept-alive connection).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            fake.requests.append(f"{method} {parsed.path}")
            token = parsed.path == "/token"
            if (fake.hang and not token) or (token and fake.token_fault == "hang"):  # noqa: S105 - a mode
                fake.released.wait()                  # accepted, never answered
                self.close_connection = True
                return
            if fake.html and not token:
                return self._send(200, HTML_PAGE, raw=True, content_type="text/html; charset=utf-8")
            if fake.faults:
                fault = fake.faults.pop(0)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(fault, tuple):
                    time.sleep(fault[1])
                else:
                    return self._problem(int(fault), "Internal Server Error", "injected failure", "RegistryException")
            if parsed.path == "/token":
                return self._token(body)
            if not self._authorised():
                return
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            parts = [unquote(p) for p in parsed.path.strip("/").split("/")]
            if parts[:2] == ["apis", "ccompat"] and parts[3:5] == ["schemas", "ids"]:
                found = fake.find("contentIds", int(parts[5]))
                if found is None:
                    return self._send(404, {"error_code": 40403, "message": "Schema not found"})
                return self._send(200, {"schema": found.content})
            if parts[:2] != ["apis", "registry"] or (parts[2] == "v3" and not fake.v3):
                return self._problem(404, "Not Found", f"No endpoint {parsed.path}", "NotFoundException")
            return self._registry(method, parts[2], parts[3:], query, body)

        def _authorised(self) -> bool:
            header = self.headers.get("Authorization", "")
            if fake.auth == "basic":
                expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
                if header != f"Basic {expected}":
                    self._problem(401, "Unauthorized", "Authentication required", "NotAuthorizedException",
                                  {"WWW-Authenticate": 'Basic realm="apicurio-registry"'})
                    return False
            if fake.auth == "oidc":
                token = header.removeprefix("Bearer ")
                if fake.tokens.get(token, 0) < time.monotonic():
                    self._problem(401, "Unauthorized", "Bearer token missing, expired or revoked",
                                  "NotAuthorizedException", {"WWW-Authenticate": 'Bearer realm="registry"'})
                    return False
            return True

        def _token(self, body: str) -> None:
            if isinstance(fake.token_fault, int) and fake.token_fault >= 500:
                return self._send(fake.token_fault, "<html><body><h1>502 Bad Gateway</h1></body></html>", raw=True,
                                  content_type="text/html")
            if isinstance(fake.token_fault, int):
                return self._send(fake.token_fault, {"error": "invalid_client",
                                                      "error_description": "Invalid client credentials"})
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if (form.get("grant_type") != "client_credentials" or form.get("client_id") != fake.client_id
                    or form.get("client_secret") != fake.client_secret):
                return self._send(401, {"error": "unauthorized_client", "error_description": "Invalid client"})
            token = secrets.token_hex(16)
            fake.tokens[token] = time.monotonic() + fake.token_lifetime
            return self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": fake.token_lifetime})

        def _registry(self, method: str, api: str, parts: list[str], query: dict[str, str], body: str) -> None:
            if parts[:2] == ["system", "info"]:
                return self._send(200, {"name": "Apicurio Registry (fake)", "version": fake.server_version})
            if parts[:1] == ["ids"] and len(parts) in (3, 4):
                found = fake.find(parts[1], int(parts[2]))
                if found is None:
                    return self._problem(404, "Not Found", f"No content with id '{parts[2]}' was found.",
                                         "ContentNotFoundException")
                if parts[3:] == ["references"]:
                    return self._send(200, found.references)
                # Only content by globalId can be dereferenced; by contentId it is served raw.
                deref = parts[1] == "globalIds" and self._dereference(api, query)
                return self._send(200, fake.dereferenced(found) if deref else found.content, raw=True)
            if parts[:1] == ["admin"] or parts[-2:] == ["rules", "COMPATIBILITY"]:
                group_rule = parts[:1] == ["groups"] and len(parts) == 4 and api == "v3"
                rule = fake.compatibility.get(parts[1]) if group_rule else None
                if rule is None:
                    return self._problem(404, "Not Found", "No rule named 'COMPATIBILITY' was found.",
                                         "RuleNotFoundException")
                return self._send(200, {"ruleType": "COMPATIBILITY", "config": rule})
            if parts[:1] != ["groups"] or len(parts) < 3:
                return self._problem(404, "Not Found", "/".join(parts), "NotFoundException")
            group = parts[1]
            if method == "POST" and len(parts) == 3:
                return self._create(api, group, query, body)
            artifact = parts[3]
            versions = fake.artifacts.get((group, artifact))
            if versions is None:
                return self._problem(404, "Not Found", f"No artifact with ID '{artifact}' in group '{group}' "
                                     "was found.", "ArtifactNotFoundException")
            rest = parts[4:]
            if method == "PUT" and rest == ["test"]:
                causes = fake.violations(group, artifact, body)
                return self._violation(causes) if causes else self._send(204, None)
            if rest == ["versions"]:
                listed = [{"version": v.version, "globalId": v.global_id, "contentId": v.content_id} for v in versions]
                return self._send(200, {"count": len(listed), "versions": listed})
            if len(rest) >= 2 and rest[0] == "versions":
                expr = rest[1]
                latest = "branch=latest" if api == "v3" else "latest"
                found = versions[-1] if expr == latest else next((v for v in versions if v.version == expr), None)
                if found is None:
                    return self._problem(404, "Not Found", f"No version '{expr}' found for artifact with ID "
                                         f"'{artifact}' in group '{group}'.", "VersionNotFoundException")
                meta = {"groupId": group, "artifactId": artifact, "version": found.version,
                        "globalId": found.global_id, "contentId": found.content_id, "artifactType": "AVRO"}
                if rest[2:] == ["references"]:
                    return self._send(200, found.references)
                if (api == "v3" and rest[2:] == ["content"]) or (api == "v2" and rest[2:] == []):
                    deref = self._dereference(api, query)
                    return self._send(200, fake.dereferenced(found) if deref else found.content, raw=True)
                if (api == "v3" and rest[2:] == []) or (api == "v2" and rest[2:] == ["meta"]):
                    return self._send(200, meta)
            return self._problem(404, "Not Found", "/".join(parts), "NotFoundException")

        @staticmethod
        def _dereference(api: str, query: dict[str, str]) -> bool:
            return query.get("references") == "DEREFERENCE" if api == "v3" else query.get("dereference") == "true"

        def _create(self, api: str, group: str, query: dict[str, str], body: str) -> None:
            references: list[dict[str, str]] = []
            if api == "v3":
                request = json.loads(body)
                artifact, content = request["artifactId"], request["firstVersion"]["content"]["content"]
                references = request["firstVersion"]["content"].get("references") or []
                if query.get("ifExists") != "FIND_OR_CREATE_VERSION":
                    return self._problem(400, "Bad Request", "unsupported ifExists", "BadRequestException")
            else:
                artifact, content = self.headers["X-Registry-ArtifactId"], body
                if self.headers.get("Content-Type") == "application/create.extended+json":
                    extended = json.loads(body)
                    content, references = extended["content"], extended.get("references") or []
            existing = fake.artifacts.get((group, artifact), [])
            same = next((v for v in existing if json.loads(v.content) == json.loads(content)), None) \
                if api == "v3" else (existing[-1] if existing and existing[-1].content == content else None)
            if same is None:
                causes = fake.violations(group, artifact, content)
                if causes:
                    return self._violation(causes)
            if query.get("dryRun") == "true":
                return self._send(200, {"artifact": {"groupId": group, "artifactId": artifact}})
            found = same or fake.add(group, artifact, content, references)
            meta = {"groupId": group, "artifactId": artifact, "version": found.version,
                    "globalId": found.global_id, "contentId": found.content_id}
            return self._send(200, {"artifact": meta, "version": meta} if api == "v3" else meta)

        def _violation(self, causes: list[dict[str, str]]) -> None:
            status = 409 if fake.server_version < "3.3" else 400
            self._problem(status, "Conflict" if status == 409 else "Bad Request",
                          "Incompatible artifact: the COMPATIBILITY rule failed.", "RuleViolationException",
                          causes=causes)

        def _problem(self, status: int, title: str, detail: str, name: str, headers: dict[str, str] | None = None,
                     causes: list[dict[str, str]] | None = None) -> None:
            if fake.v3:
                body: dict[str, Any] = {"status": status, "title": title, "detail": detail, "name": name}
            else:
                body = {"error_code": status, "message": detail, "name": name}
            if causes is not None:
                body["causes"] = causes
            self._send(status, body, headers=headers, problem=fake.v3)

        def _send(self, status: int, body: Any, raw: bool = False, headers: dict[str, str] | None = None,
                  problem: bool = False, content_type: str | None = None) -> None:
            data = b"" if body is None else (body.encode() if raw else json.dumps(body).encode())
            if fake.trickle and not self.path.startswith("/token"):
                return self._trickle(status, data)
            self.send_response(status)
            self.send_header("Content-Type", content_type
                             or ("application/problem+json" if problem else "application/json"))
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _trickle(self, status: int, data: bytes) -> None:
            """Headers at once, then the body byte by byte: each read is quick, the whole is not."""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            for index in range(len(data)):
                if fake.released.wait(fake.trickle):
                    break
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()

    return Handler
