"""The registry client against a local server answering as Apicurio 3.x and 2.x, the schemas/
registry and lockfile, and the `pipelines registry` lifecycle commands."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, cli, closed_port
from fakes.apicurio import FakeApicurio

from palindrom.avro.wire import SchemaRef
from palindrom.logs import JsonLogger
from palindrom.registry import auth as registry_auth
from palindrom.registry import connect as connect_module
from palindrom.registry.client import RegistryClient
from palindrom.registry.connect import FallbackRegistry, connect
from palindrom.registry.errors import (
    CredentialsRejected,
    IdentityProviderUnavailable,
    InvalidResponse,
    NotFound,
    RegistryAuthError,
    RegistryUnavailable,
    RuleViolation,
)
from palindrom.registry.local import LocalRegistry, LockedRegistry

SCHEMAS = REPO / "schemas"
GROUP = "palindrom.events"
V1 = (SCHEMAS / GROUP / "app_event" / "v1.avsc").read_text()
V2 = (SCHEMAS / GROUP / "app_event" / "v2.avsc").read_text()
V3 = (SCHEMAS / GROUP / "app_event" / "v3.avsc").read_text()
# Credentials made up per run: a test that finds one in output proves a leak, not a coincidence.
PASSWORD, CLIENT_SECRET, PROD_SECRET = (f"{name}-{secrets.token_hex(8)}" for name in ("pw", "oidc", "prod"))
BREAKING = json.dumps({**json.loads(V3), "fields": [*json.loads(V3)["fields"], {"name": "country", "type": "string"}]})


def _seeded(fake: FakeApicurio) -> FakeApicurio:
    fake.add("other", "noise", '{"type": "string"}')   # ids of app_event do not start at 1
    fake.add(GROUP, "app_event", V1)
    fake.add(GROUP, "app_event", V2)
    return fake


@pytest.mark.parametrize(("server", "api"), [("3.3.0", "v3"), ("3.2.0", "v3"), ("2.6.0", "v2")])
def test_reads_latest_versions_and_ids_on_v3_and_v2(server, api):
    with _seeded(FakeApicurio(server_version=server, compatibility={GROUP: "BACKWARD"})) as fake:
        client = RegistryClient(fake.url, backoff=0.01)
        latest = client.latest(GROUP, "app_event")
        assert client.api == api
        assert (latest.version, latest.global_id, latest.content_id) == ("2", 3, 3)
        assert json.loads(latest.content) == json.loads(V2)
        assert client.version(GROUP, "app_event", "1").content == V1
        assert client.versions(GROUP, "app_event") == ["1", "2"]
        assert client.compatibility(GROUP, "app_event") == ("BACKWARD" if api == "v3" else "NONE")
        requests_before = len(fake.requests)
        assert client.schema(SchemaRef("globalId", 2)) == V1        # cached by the version() call above
        assert len(fake.requests) == requests_before
        assert client.schema(SchemaRef("contentId", 1)) == '{"type": "string"}'
        assert client.schema(SchemaRef("confluentId", 2)) == V1     # ccompat: id = contentId
        with pytest.raises(NotFound, match="No version '7' found"):
            client.version(GROUP, "app_event", "7")
        with pytest.raises(NotFound, match="No artifact with ID 'nope'"):
            client.latest(GROUP, "nope")
        if api == "v3":   # the literal 'latest' is only a version expression in v2 and ccompat
            assert f"GET /apis/registry/v3/groups/{GROUP}/artifacts/app_event/versions/branch=latest" in fake.requests


@pytest.mark.parametrize(("server", "status"), [("3.2.0", 409), ("3.3.0", 400), ("2.6.0", 409)])
def test_rule_violations_are_recognised_by_body_409_and_400(server, status):
    with _seeded(FakeApicurio(server_version=server, compatibility={GROUP: "BACKWARD"})) as fake:
        fake.compatibility = {GROUP: "BACKWARD"}
        client = RegistryClient(fake.url)
        with pytest.raises(RuleViolation) as caught:
            client.register(GROUP, "app_event", BREAKING, dry_run=True)
        assert caught.value.status == status
        assert caught.value.causes == ["READER_FIELD_MISSING_DEFAULT_VALUE: country (/fields/country)"]
        assert client.register(GROUP, "app_event", V3, dry_run=True) is None
        assert client.versions(GROUP, "app_event") == ["1", "2"]            # a dry run writes nothing
        written = client.register(GROUP, "app_event", V3)
        assert written is not None and written.version == "3"
        assert client.latest(GROUP, "app_event").version == "3"             # the latest cache was dropped
        again = client.register(GROUP, "app_event", V3)                      # identical content: found
        assert again is not None and again.version == "3"


def test_retries_connection_drops_and_5xx_with_backoff_but_not_4xx():
    with _seeded(FakeApicurio()) as fake:
        client = RegistryClient(fake.url, retries=3, backoff=0.01, api="v3")
        fake.faults = [503, "drop", 500]
        assert client.version(GROUP, "app_event", "1").content == V1
        assert len(fake.requests) == 5           # 3 failures + metadata + content
        fake.requests.clear()
        with pytest.raises(NotFound):
            client.version(GROUP, "app_event", "9")
        assert len(fake.requests) == 1           # a 404 is an answer, not an outage
        fake.requests.clear()
        fake.faults = [503] * 10
        with pytest.raises(RegistryUnavailable, match=r"after 4 attempts: HTTP 503 .*\(deadline 10 s per lookup\)"):
            client.version(GROUP, "app_event", "1")
        assert len(fake.requests) == 4
        fake.faults = [("slow", 1.0)]
        slow = RegistryClient(fake.url, timeout=0.3, retries=1, backoff=0.01, api="v3")
        assert slow.version(GROUP, "app_event", "2").version == "2"   # timed out once, then answered


def test_basic_auth_and_a_clear_error_without_the_password():
    with _seeded(FakeApicurio(auth="basic", password=PASSWORD)) as fake:
        env = {"PALINDROM_REGISTRY_USERNAME": "registry-user", "PALINDROM_REGISTRY_PASSWORD": PASSWORD}
        good = registry_auth.from_settings({"auth": "basic"}, env)
        assert PASSWORD not in repr(good)
        assert RegistryClient(fake.url, good).latest(GROUP, "app_event").version == "2"
        bad = registry_auth.from_settings({"auth": "basic"}, {**env, "PALINDROM_REGISTRY_PASSWORD": "wrong-pw-xyz"})
        with pytest.raises(RegistryAuthError) as caught:
            RegistryClient(fake.url, bad).latest(GROUP, "app_event")
        assert caught.value.status == 401 and "Check the registry credentials" in str(caught.value)
        assert "wrong-pw-xyz" not in str(caught.value)
        with pytest.raises(RegistryAuthError, match="PALINDROM_REGISTRY_PASSWORD"):
            registry_auth.from_settings({"auth": "basic"}, {"PALINDROM_REGISTRY_USERNAME": "u"})
        # Without environment variables the secret scope answers (on Databricks: dbutils-backed SDK call).
        asked: list[tuple[str, str]] = []

        def scope(name: str, key: str) -> str:
            asked.append((name, key))
            return {"username": "registry-user", "password": PASSWORD}[key]

        from_scope = registry_auth.from_settings({"auth": "basic", "secret_scope": "palindrom-registry"}, {}, scope)
        assert RegistryClient(fake.url, from_scope).latest(GROUP, "app_event").version == "2"
        assert asked == [("palindrom-registry", "username"), ("palindrom-registry", "password")]

        def no_workspace(name: str, key: str) -> str:
            raise ValueError("default auth: cannot configure default credentials, please check the docs")

        with pytest.raises(RegistryAuthError) as caught:
            registry_auth.from_settings({"auth": "basic", "secret_scope": "palindrom-registry"}, {}, no_workspace)
        assert str(caught.value).startswith("registry auth 'basic': PALINDROM_REGISTRY_USERNAME is not set and the "
                                            "secret 'username' of Databricks secret scope 'palindrom-registry' "
                                            "could not be read (ValueError: default auth: cannot configure")


def test_oidc_token_is_cached_refreshed_before_expiry_and_after_revocation():
    with _seeded(FakeApicurio(auth="oidc", client_secret=CLIENT_SECRET, token_lifetime=120)) as fake:
        now = [0.0]
        credentials = registry_auth.OidcClientCredentials(f"{fake.url}/token", "pipelines",
                                                          registry_auth.Secret(CLIENT_SECRET),
                                                          clock=lambda: now[0])
        client = RegistryClient(fake.url, credentials, api="v3")
        for version in ("1", "2", "1"):
            client.version(GROUP, "app_event", version)
        assert credentials.fetched == 1
        now[0] = 89.0                      # 31 s before expiry: still used
        client.version(GROUP, "app_event", "2")
        assert credentials.fetched == 1
        now[0] = 91.0                      # within 30 s of expiry: fetched again first
        client.version(GROUP, "app_event", "2")
        assert credentials.fetched == 2
        fake.tokens.clear()                # the server revokes every token: one 401, one refetch
        assert client.version(GROUP, "app_event", "1").content == V1
        assert credentials.fetched == 3
        wrong = registry_auth.OidcClientCredentials(f"{fake.url}/token", "pipelines", registry_auth.Secret("nope"))
        with pytest.raises(CredentialsRejected, match=r"refused client 'pipelines' \(HTTP 401: unauthorized_client") \
                as caught:
            RegistryClient(fake.url, wrong).latest(GROUP, "app_event")
        assert "nope" not in str(caught.value) and CLIENT_SECRET not in repr(credentials)


def test_outage_falls_back_to_the_lockfile_with_a_warning_and_no_secret(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    local = LocalRegistry(schemas)
    document = json.loads((schemas / "registry.local.lock.json").read_text())
    (schemas / "registry.production.lock.json").write_text(json.dumps({**document, "registry": "https://x"}))
    secret = PROD_SECRET
    settings = {"url": f"http://127.0.0.1:{closed_port()}", "auth": "oidc", "token_url": "http://127.0.0.1:9/t",
                "retries": "1"}
    env = {"PALINDROM_REGISTRY_CLIENT_ID": "pipelines", "PALINDROM_REGISTRY_CLIENT_SECRET": secret}
    stream = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        source = connect(settings, "production", schemas, JsonLogger("production", stream))
        assert isinstance(source, FallbackRegistry)
        started = time.monotonic()
        latest = source.latest(GROUP, "app_event")
        assert time.monotonic() - started < 5
    assert latest == local.latest(GROUP, "app_event")
    assert source.schema(SchemaRef("globalId", 2)) == V2
    assert source.schema(SchemaRef("contentId", 4)) == local.latest(GROUP, "media_upload").content
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(logged) == 1 and logged[0]["level"] == "WARN"
    assert "registry.production.lock.json" in logged[0]["message"] and "cannot be used" in logged[0]["message"]
    assert "ConnectionError" in logged[0]["reason"]
    assert {"timestamp", "requestId", "service", "environment"} <= set(logged[0])
    assert secret not in stream.getvalue()
    with pytest.raises(NotFound, match=r"no schema with globalId 99 in .*registry.production.lock.json"):
        LockedRegistry(schemas, "production").schema(SchemaRef("globalId", 99))


def _registry(*argv: object) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli("registry", *argv)
    return code, out.getvalue()


def test_local_check_passes_and_catches_an_incompatible_version_and_a_stale_lockfile(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    assert _registry("check", "--schemas", schemas) == (0, _registry("check", "--schemas", schemas)[1])
    assert "2 artifacts" in _registry("check", "--schemas", schemas)[1]
    (schemas / GROUP / "app_event" / "v4.avsc").write_text(BREAKING)
    code, out = _registry("check", "--schemas", schemas)
    assert code == 1
    assert "FAIL  palindrom.events/app_event v4: palindrom.events/app_event v4 violates BACKWARD" in out
    assert "new schema cannot read old data: /country: field added without a default" in out
    assert "registry.local.lock.json is out of date" in out
    (schemas / GROUP / "app_event" / "v4.avsc").unlink()
    (schemas / GROUP / "app_event" / "v3.avsc").write_text(V3.replace('"UNKNOWN"', '"OTHER"'))
    assert _registry("check", "--schemas", schemas)[0] == 1       # v3 changed: lockfile no longer matches


@pytest.mark.parametrize("server", ["3.2.0", "3.3.0", "2.6.0"])
def test_publish_dry_runs_first_then_check_gates_on_the_registry_rule(tmp_path, server):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    # Locally anything goes; the registry's own group rule is what must stop the change.
    (schemas / "registry.yml").write_text("groups:\n  palindrom.events:\n    compatibility: NONE\n")
    with FakeApicurio(server_version=server, compatibility={GROUP: "BACKWARD"}) as fake:
        fake.add(GROUP, "app_event", V1)
        code, out = _registry("publish", "--schemas", schemas, "--url", fake.url)
        assert code == 0, out
        assert "published palindrom.events/app_event v2 as registry version 2" in out
        assert "published palindrom.events/media_upload v1 as registry version 1" in out
        assert [v.version for v in fake.artifacts[(GROUP, "app_event")]] == ["1", "2", "3"]
        lock = json.loads((schemas / "registry.local.lock.json").read_text())
        assert lock["registry"] == fake.url
        assert _registry("check", "--schemas", schemas, "--url", fake.url)[0] == 0
        assert _registry("publish", "--schemas", schemas, "--url", fake.url)[0] == 0   # idempotent
        assert len(fake.artifacts[(GROUP, "app_event")]) == 3

        (schemas / GROUP / "app_event" / "v4.avsc").write_text(BREAKING)
        code, out = _registry("check", "--schemas", schemas, "--url", fake.url)
        assert code == 1
        assert "FAIL  palindrom.events/app_event v4: Incompatible artifact" in out
        assert "READER_FIELD_MISSING_DEFAULT_VALUE: country" in out
        code, out = _registry("publish", "--schemas", schemas, "--url", fake.url)
        assert code == 1 and "Nothing was published" in out
        assert len(fake.artifacts[(GROUP, "app_event")]) == 3


def test_a_changed_published_version_is_refused(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    with FakeApicurio() as fake:
        fake.add(GROUP, "app_event", V1.replace("A user action", "Edited"))
        code, out = _registry("check", "--schemas", schemas, "--url", fake.url)
        assert code == 1 and "published versions are immutable" in out


def test_schema_files_must_be_numbered_without_gaps(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    Path(schemas / GROUP / "app_event" / "v3.avsc").rename(schemas / GROUP / "app_event" / "v5.avsc")
    code, out = _registry("check", "--schemas", schemas)
    assert code == 1 and "versions must be v1..vN without gaps, found [1, 2, 5]" in out


def test_pull_pins_the_ids_the_registry_resolved_and_the_lockfile_serves_them(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    media = (SCHEMAS / GROUP / "media_upload" / "v1.avsc").read_text()
    with _seeded(FakeApicurio(server_version="3.3.0")) as fake:   # ids differ from the local ones
        fake.add(GROUP, "media_upload", media)
        fake.add(GROUP, "app_event", V3)
        code, out = _registry("pull", "--schemas", schemas, "--url", fake.url)
        assert code == 0 and "registry.local.lock.json (4 versions)" in out
        lock = json.loads((schemas / "registry.local.lock.json").read_text())
        assert lock["registry"] == fake.url and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lock["resolved_at"])
        pinned = {(a["artifactId"], v["version"]): (v["globalId"], v["contentId"], v["sha256"])
                  for a in lock["artifacts"] for v in a["versions"]}
        assert pinned == {(a, v.version): (v.global_id, v.content_id, hashlib.sha256(v.content.encode()).hexdigest())
                          for (g, a), versions in fake.artifacts.items() if g == GROUP for v in versions}
        assert [a["latest"] for a in lock["artifacts"]] == ["3", "1"]
        assert _registry("check", "--schemas", schemas, "--url", fake.url)[0] == 0
        fake.add(GROUP, "app_event", BREAKING)          # someone published behind our back
        code, out = _registry("check", "--schemas", schemas, "--url", fake.url)
        assert code == 1 and "the registry has 4 versions, schemas/ only 3" in out
    # With the registry gone, the pulled lockfile answers with the registry's ids, not local ones.
    locked = LockedRegistry(schemas, "local")
    assert locked.latest(GROUP, "app_event").global_id == 5          # v4 came after the pull
    assert locked.schema(SchemaRef("globalId", 4)) == media
    assert locked.schema(SchemaRef("contentId", 3)) == V2


DEVICE = json.dumps({"type": "record", "name": "Device", "namespace": "palindrom.common", "fields": [
    {"name": "model", "type": "string"},
    {"name": "os", "type": {"type": "enum", "name": "Os", "symbols": ["ANDROID", "IOS", "WEB"]}}]})
SESSION = json.dumps({"type": "record", "name": "SessionStart", "namespace": "palindrom.events", "fields": [
    {"name": "session_id", "type": "string"},
    {"name": "device", "type": "palindrom.common.Device"},
    {"name": "previous", "type": ["null", "palindrom.common.Device"], "default": None}]})


@pytest.mark.parametrize("server", ["3.3.0", "2.6.0"])
def test_references_are_registered_and_read_dereferenced_by_version_global_and_content_id(server):
    from fastavro import parse_schema, schemaless_reader, schemaless_writer

    from palindrom.registry.client import Reference

    with FakeApicurio(server_version=server) as fake:
        writer = RegistryClient(fake.url, backoff=0.01)
        fake.add("other", "noise", '{"type": "string"}')
        device = writer.register("palindrom.common", "device", DEVICE)
        assert device is not None
        uses = [Reference("palindrom.common.Device", "palindrom.common", "device", device.version)]
        session = writer.register(GROUP, "session_start", SESSION, references=uses)
        assert session is not None
        stored = fake.artifacts[(GROUP, "session_start")][0]
        assert stored.content == SESSION and stored.references == [
            {"name": "palindrom.common.Device", "groupId": "palindrom.common", "artifactId": "device", "version": "1"}]

        # Fresh clients, no cache: every way of asking gives one self-contained schema.
        expected = json.loads(SESSION)
        expected["fields"][1]["type"] = json.loads(DEVICE)           # defined at its first use
        by_version = RegistryClient(fake.url).latest(GROUP, "session_start").content
        by_global = RegistryClient(fake.url).schema(SchemaRef("globalId", session.global_id))
        by_content = RegistryClient(fake.url).schema(SchemaRef("contentId", session.content_id))
        assert [json.loads(c) for c in (by_version, by_global, by_content)] == [expected] * 3
        assert f"GET /apis/registry/{'v3' if server > '3' else 'v2'}/ids/contentIds/{session.content_id}/references" \
            in fake.requests

        record = {"session_id": "s1", "device": {"model": "Pixel", "os": "ANDROID"},
                  "previous": {"model": "iPhone", "os": "IOS"}}
        body = io.BytesIO()
        schemaless_writer(body, parse_schema(json.loads(by_content)), record)
        body.seek(0)
        assert schemaless_reader(body, parse_schema(json.loads(by_version))) == record


def _schemas_with_references(tmp_path: Path) -> Path:
    """The repo's schemas plus palindrom.common/device and an artifact whose v1 uses its Device twice."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    (schemas / "palindrom.common" / "device").mkdir(parents=True)
    (schemas / "palindrom.common" / "device" / "v1.avsc").write_text(DEVICE)
    folder = schemas / GROUP / "session_start"
    folder.mkdir()
    (folder / "v1.avsc").write_text(SESSION)
    (folder / "v1.references.yml").write_text(
        "# Named types v1.avsc uses from other artifacts.\n"
        "- {name: palindrom.common.Device, artifact: palindrom.common/device, version: 1}\n")
    return schemas


@pytest.mark.parametrize("server", ["3.3.0", "2.6.0"])
def test_schemas_with_references_publish_in_order_pin_their_references_and_serve_self_contained(tmp_path, server):
    schemas = _schemas_with_references(tmp_path)
    expected = json.loads(SESSION)
    expected["fields"][1]["type"] = json.loads(DEVICE)
    local = LocalRegistry(schemas)
    assert json.loads(local.latest(GROUP, "session_start").content) == expected
    code, out = _registry("check", "--schemas", schemas)
    assert code == 1 and "registry.local.lock.json is out of date" in out     # new artifacts: pull first
    assert _registry("pull", "--schemas", schemas)[0] == 0
    assert _registry("check", "--schemas", schemas)[0] == 0

    with FakeApicurio(server_version=server) as fake:
        code, out = _registry("publish", "--schemas", schemas, "--url", fake.url)
        assert code == 0, out
        device, session = fake.artifacts[("palindrom.common", "device")][0], fake.artifacts[(GROUP, "session_start")][0]
        assert device.global_id < session.global_id                            # the referenced artifact first
        assert session.content == SESSION and session.references == [
            {"name": "palindrom.common.Device", "groupId": "palindrom.common", "artifactId": "device", "version": "1"}]
        lock = json.loads((schemas / "registry.local.lock.json").read_text())
        pinned = {a["artifactId"]: a["versions"] for a in lock["artifacts"]}
        assert pinned["session_start"][0]["references"] == session.references
        assert pinned["session_start"][0]["sha256"] == hashlib.sha256(SESSION.encode()).hexdigest()
        assert "references" not in pinned["app_event"][0]
        assert _registry("check", "--schemas", schemas, "--url", fake.url)[0] == 0   # nothing new, lock current
        assert _registry("publish", "--schemas", schemas, "--url", fake.url)[0] == 0
        assert len(fake.artifacts[(GROUP, "session_start")]) == 1

        # A changed reference of a published version is refused like changed content.
        (schemas / GROUP / "session_start" / "v1.references.yml").write_text(
            "- {name: palindrom.common.Device, artifact: palindrom.common/device, version: 2}\n")
        (schemas / "palindrom.common" / "device" / "v2.avsc").write_text(DEVICE)
        code, out = _registry("check", "--schemas", schemas, "--url", fake.url)
        assert code == 1 and "registry version 1 differs" in out and "(content or references)" in out
        (schemas / GROUP / "session_start" / "v1.references.yml").write_text(
            "- {name: palindrom.common.Device, artifact: palindrom.common/device, version: 1}\n")
        (schemas / "palindrom.common" / "device" / "v2.avsc").unlink()

    # With the registry gone, the lockfile dereferences from the pinned versions.
    locked = LockedRegistry(schemas, "local")
    assert json.loads(locked.latest(GROUP, "session_start").content) == expected
    assert json.loads(locked.schema(SchemaRef("contentId", session.content_id))) == expected


def test_a_reference_to_a_version_schemas_lacks_names_the_file(tmp_path):
    schemas = _schemas_with_references(tmp_path)
    (schemas / GROUP / "session_start" / "v1.references.yml").write_text(
        "- {name: palindrom.common.Device, artifact: palindrom.common/device, version: 4}\n")
    code, out = _registry("check", "--schemas", schemas)
    assert code == 1
    assert "session_start/v1.references.yml: palindrom.common/device v4 (for palindrom.common.Device) is not in" in out
    (schemas / GROUP / "session_start" / "v1.references.yml").write_text("- {name: x}\n")
    code, out = _registry("check", "--schemas", schemas)
    assert code == 1 and "v1.references.yml: entry 1 must have name" in out


# -- outages, impostors and identity providers ------------------------------------------------------
def _production(tmp_path: Path) -> Path:
    """schemas/ with a production lockfile (the local one's pins) for the fallback to answer from."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    document = json.loads((schemas / "registry.local.lock.json").read_text())
    (schemas / "registry.production.lock.json").write_text(json.dumps({**document, "registry": "https://x"}))
    return schemas


def _warnings(text: str) -> list[dict[str, object]]:
    return [r for r in (json.loads(line) for line in text.splitlines() if line.startswith("{")) if r["level"] == "WARN"]


def test_a_hanging_registry_costs_one_deadline_per_lookup_not_retries_times_timeout():
    with _seeded(FakeApicurio()) as fake:
        fake.hang = True
        client = RegistryClient(fake.url, timeout=0.4, deadline=1.0, retries=4, backoff=0.01, api="v3")
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable) as caught:
            client.all_versions(GROUP, "app_event")          # several requests: one deadline for them all
        elapsed = time.monotonic() - started
        assert 1.0 <= elapsed < 1.8                            # retries x timeout would be 5 x 0.4 = 2 s
        assert "ReadTimeout" in str(caught.value) and "(deadline 1 s per lookup)" in str(caught.value)
        assert 2 <= len(fake.requests) <= 3                    # 0.4 + 0.4 + what is left of the second
        one_attempt = RegistryClient(fake.url, timeout=5, deadline=0.5, api="v3")
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="after 1 attempts: ReadTimeout"):
            one_attempt.version(GROUP, "app_event", "1")
        assert 0.5 <= time.monotonic() - started < 1.2         # the attempt's timeout is cut to the deadline
        fake.hang, fake.trickle = False, 0.05                  # every byte in time, the whole answer never
        trickled = RegistryClient(fake.url, timeout=0.5, deadline=1.0, retries=0, api="v3")
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="answer still arriving at the deadline"):
            trickled.version(GROUP, "app_event", "1")
        assert 1.0 <= time.monotonic() - started < 1.8


# One process of an update as Spark starts them: it builds its registry from the configuration and
# looks up the reader schema, the artifact's versions and a writer schema by id.
WORKER = """
import json, sys, time
from pathlib import Path
from palindrom.avro.wire import SchemaRef
from palindrom.registry.connect import connect
started = time.monotonic()
source = connect(json.loads(sys.argv[1]), "production", Path(sys.argv[2]))
found = {"latest": source.latest("palindrom.events", "app_event").version,
         "versions": [v.version for v in source.all_versions("palindrom.events", "app_event")],
         "writer": json.loads(source.schema(SchemaRef("globalId", 2)))["name"]}
print(json.dumps({**found, "seconds": time.monotonic() - started}))
"""


def _update(settings: dict[str, str], schemas: Path, processes: int) -> tuple[list[dict[str, object]], str]:
    """Run ``processes`` workers at once; (what each found, their stderr together)."""
    started = [subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(settings), str(schemas)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    results, errors = [], ""
    for process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
        errors += err
    return results, errors


def test_an_update_pays_one_deadline_and_logs_one_warning_for_a_hanging_registry(tmp_path):
    schemas = _production(tmp_path)
    locked = {"latest": "3", "versions": ["1", "2", "3"], "writer": "AppEvent"}   # the lockfile's answers
    with _seeded(FakeApicurio()) as fake:
        fake.hang = True
        settings = {"url": fake.url, "deadline_seconds": "1.5", "timeout_seconds": "5", "retries": "4",
                    "update_key": "update-1", "state_dir": str(tmp_path / "state")}
        results, errors = _update(settings, schemas, processes=4)
        assert [{k: v for k, v in r.items() if k != "seconds"} for r in results] == [locked] * 4
        warnings = _warnings(errors)
        assert len(warnings) == 1                            # one line for the whole update
        assert "ReadTimeout" in str(warnings[0]["reason"]) and "deadline 1.5 s" in str(warnings[0]["reason"])
        assert len(fake.requests) == 1                       # one attempt of one lookup reached the server
        assert max(float(str(r["seconds"])) for r in results) < 1.5 + 2.5   # the others waited for that one

        # Later processes of the same update go straight to the lockfile, silently.
        results, errors = _update(settings, schemas, processes=3)
        assert len(fake.requests) == 1 and _warnings(errors) == []
        assert max(float(str(r["seconds"])) for r in results) < 1.0
        # The next update asks the registry again.
        results, errors = _update({**settings, "update_key": "update-2"}, schemas, processes=2)
        assert len(fake.requests) == 2 and len(_warnings(errors)) == 1


def test_a_refused_connection_gives_one_warning_per_update_not_one_per_process(tmp_path):
    schemas = _production(tmp_path)
    settings = {"url": f"http://127.0.0.1:{closed_port()}", "retries": "2", "update_key": "update-1",
                "state_dir": str(tmp_path / "state")}
    results, errors = _update(settings, schemas, processes=4)
    assert {r["latest"] for r in results} == {"3"} and len(_warnings(errors)) == 1
    assert "ConnectionError" in str(_warnings(errors)[0]["reason"])
    # Without an update to share the verdict with, each process finds out (and says so) on its own.
    results, errors = _update({k: v for k, v in settings.items() if k != "update_key"}, schemas, processes=3)
    assert len(_warnings(errors)) == 3


def test_a_login_page_instead_of_the_registry_is_a_clear_error_and_pull_writes_nothing(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    lock = schemas / "registry.local.lock.json"
    pinned = lock.read_bytes()
    with _seeded(FakeApicurio()) as fake:
        fake.html = True
        with pytest.raises(InvalidResponse) as caught:
            RegistryClient(fake.url).latest(GROUP, "app_event")
        assert str(caught.value).startswith(f"registry answered GET {fake.url}/apis/registry/v3/system/info with "
                                            "HTTP 200 text/html; charset=utf-8: '<!DOCTYPE html> <html><head><title>"
                                            "Sign in - Corporate Proxy")
        assert "where the registry API returns JSON" in str(caught.value)
        for action in ("pull", "check", "publish"):
            code, out = _registry(action, "--schemas", schemas, "--url", fake.url)
            assert code == 1 and out.startswith("error: registry answered GET") and "text/html" in out, out
            assert "Traceback" not in out
        assert lock.read_bytes() == pinned
        assert not list(schemas.glob(".*partial"))


@pytest.mark.parametrize(("content", "reason"), [
    ('{"hello": "world"}', "not an Avro schema (KeyError: 'type')"),
    ("Service temporarily unavailable", "not an Avro schema (not JSON)"),
    ('{"type": "record", "name": "R", "fields": [{"name": "a", "type": "Undefined"}]}',
     "not an Avro schema (UnknownType: Undefined)"),
])
def test_content_that_is_not_an_avro_schema_is_refused_and_never_pinned(tmp_path, content, reason):
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    lock = schemas / "registry.local.lock.json"
    pinned = lock.read_bytes()
    with FakeApicurio() as fake:
        fake.add(GROUP, "app_event", V1)
        fake.add(GROUP, "app_event", content)
        client = RegistryClient(fake.url)
        with pytest.raises(InvalidResponse) as caught:
            client.version(GROUP, "app_event", "2")
        where = f"GET {fake.url}/apis/registry/v3/groups/{GROUP}/artifacts/app_event/versions/2/content"
        assert where in str(caught.value) and reason in str(caught.value)
        assert client.version(GROUP, "app_event", "1").content == V1          # the good version still reads
        code, out = _registry("pull", "--schemas", schemas, "--url", fake.url)
        assert code == 1 and where in out and reason in out and "Traceback" not in out
        assert lock.read_bytes() == pinned


def test_pipelines_read_the_lockfile_when_the_registry_answers_with_a_login_page(tmp_path):
    schemas = _production(tmp_path)
    stream = io.StringIO()
    with _seeded(FakeApicurio()) as fake:
        fake.html = True
        source = connect({"url": fake.url}, "production", schemas, JsonLogger("production", stream))
        assert source.latest(GROUP, "app_event").version == "3"
        assert source.schema(SchemaRef("globalId", 2)) == V2
    warnings = _warnings(stream.getvalue())
    assert len(warnings) == 1 and "text/html" in str(warnings[0]["reason"])


@pytest.mark.parametrize(("fault", "error", "message", "attempts"), [
    (500, IdentityProviderUnavailable, "identity provider {url}/token unavailable: HTTP 500", 2),
    ("hang", IdentityProviderUnavailable, "identity provider {url}/token unavailable: ReadTimeout", 1),
    (401, CredentialsRejected, "token endpoint {url}/token refused client 'pipelines' (HTTP 401: invalid_client: "
                               "Invalid client credentials); check the client id and secret.", 1),
    (400, CredentialsRejected, "token endpoint {url}/token refused client 'pipelines' (HTTP 400: invalid_client: "
                               "Invalid client credentials); check the client id and secret.", 1),
])
def test_refused_credentials_and_an_unavailable_identity_provider_are_different_errors(fault, error, message,
                                                                                      attempts):
    with _seeded(FakeApicurio(auth="oidc", client_secret=CLIENT_SECRET)) as fake:
        fake.token_fault = fault
        credentials = registry_auth.OidcClientCredentials(f"{fake.url}/token", "pipelines",
                                                          registry_auth.Secret(CLIENT_SECRET))
        client = RegistryClient(fake.url, credentials, timeout=5, deadline=1.0, retries=1, backoff=0.01, api="v3")
        started = time.monotonic()
        with pytest.raises(error) as caught:
            client.latest(GROUP, "app_event")
        assert time.monotonic() - started < 1.8
        assert message.format(url=fake.url) in str(caught.value)
        other = RegistryAuthError if error is IdentityProviderUnavailable else RegistryUnavailable
        assert not isinstance(caught.value, other)
        assert fake.requests.count("POST /token") == attempts      # an IdP outage is retried, a refusal is not
        assert CLIENT_SECRET not in str(caught.value)


def test_an_identity_provider_that_refuses_connections_is_unavailable_and_pipelines_use_the_lockfile(tmp_path):
    schemas = _production(tmp_path)
    stream = io.StringIO()
    with _seeded(FakeApicurio(auth="oidc", client_secret=CLIENT_SECRET)) as fake, pytest.MonkeyPatch.context() as env:
        env.setenv("PALINDROM_REGISTRY_CLIENT_ID", "pipelines")
        env.setenv("PALINDROM_REGISTRY_CLIENT_SECRET", CLIENT_SECRET)
        down = {"url": fake.url, "auth": "oidc", "token_url": f"http://127.0.0.1:{closed_port()}/token",
                "retries": "1"}
        with pytest.raises(IdentityProviderUnavailable, match=r"identity provider http://127.0.0.1:\d+/token "
                                                              "unavailable: ConnectionError"):
            connect_module.client_for(down).latest(GROUP, "app_event")
        source = connect(down, "production", schemas, JsonLogger("production", stream))
        assert source.latest(GROUP, "app_event").version == "3"
        assert len(_warnings(stream.getvalue())) == 1
        # Wrong credentials are not an outage: no fallback, the update must stop and say why.
        env.setenv("PALINDROM_REGISTRY_CLIENT_SECRET", "wrong-" + CLIENT_SECRET[:4])
        refused = connect({**down, "token_url": f"{fake.url}/token"}, "production", schemas,
                                  JsonLogger("production", stream))
        with pytest.raises(CredentialsRejected, match="check the client id and secret"):
            refused.latest(GROUP, "app_event")
    assert CLIENT_SECRET not in stream.getvalue()
