"""The registry a pipeline or command uses, from configuration keys ``palindrom.registry.*``.

``palindrom.registry.url`` is ``local`` (the default: ``schemas/`` needs no server) or an Apicurio
base URL. With a URL, ``auth`` (none|basic|oidc), ``token_url``, ``credentials_env`` or
``secret_scope``, ``deadline_seconds`` (per lookup, retries included; default 10),
``timeout_seconds`` (per attempt; default 5) and ``retries`` (default 4) apply. When the registry
cannot be used (unreachable, no answer within the deadline, 5xx, identity provider down, or answers
that are not the registry's), lookups fall back to the environment's
``schemas/registry.<env>.lock.json``. With ``update_key`` (and ``state_dir``), every process of one
update shares that verdict (``registry.shared``): one deadline and one warning per update.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from palindrom.avro.wire import SchemaRef
from palindrom.logs import JsonLogger
from palindrom.registry import auth
from palindrom.registry.client import ArtifactVersion, RegistryClient
from palindrom.registry.errors import InvalidResponse, RegistryUnavailable
from palindrom.registry.local import LocalRegistry, LockedRegistry, SchemaSource
from palindrom.registry.shared import UpdateVerdict, default_directory
from palindrom.runtime import spec

Answer = TypeVar("Answer")

PREFIX = "palindrom.registry."
SCHEMAS_ENV = "PALINDROM_SCHEMAS_DIR"


def default_schemas_dir() -> Path:
    configured = os.environ.get(SCHEMAS_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "schemas"


def settings_from(configuration: Mapping[str, str]) -> dict[str, str]:
    return spec.prefixed(configuration, PREFIX)


class FallbackRegistry:
    """An HTTP registry that answers from the lockfile once the server cannot be used.

    ``shared``: the verdict this process shares with the other processes of its update. Lookups
    then ask the server one process at a time; after a failure every process of the update answers
    from the lockfile, and only the process that saw the failure logs (one WARN line per update).
    """

    def __init__(self, client: RegistryClient, schemas_dir: Path, environment: str, log: JsonLogger,
                 shared: UpdateVerdict | None = None) -> None:
        self.client = client
        self.environment = environment
        self.url = client.url
        self.schemas_dir = schemas_dir
        self.log = log
        self.shared = shared
        self._locked: LockedRegistry | None = None

    def _fallback(self, reason: str, announce: bool) -> LockedRegistry:
        if self._locked is None:
            self._locked = LockedRegistry(self.schemas_dir, self.environment)
            if announce:
                self.log.warning(f"Schema registry cannot be used; this update reads schemas from the lockfile "
                                 f"{self._locked.path} (resolved {self._locked.lock.get('resolved_at')}) instead.",
                                 registry=self.client.url, reason=reason)
        return self._locked

    def _answer(self, ask: Callable[[SchemaSource], Answer]) -> Answer:
        """The server's answer, or the lockfile's once the server could not be used."""
        if self._locked is not None:
            return ask(self._locked)
        if self.shared is None:
            try:
                return ask(self.client)
            except (RegistryUnavailable, InvalidResponse) as exc:
                return ask(self._fallback(str(exc), announce=True))
        try:
            with self.shared.exclusive():
                verdict = self.shared.read()
                if verdict is None:
                    try:
                        return ask(self.client)
                    except (RegistryUnavailable, InvalidResponse) as exc:
                        self.shared.record(str(exc))
                        locked = self._fallback(str(exc), announce=True)
                else:
                    locked = self._fallback(str(verdict.get("reason")), announce=False)
        except RegistryUnavailable as exc:      # the lock itself was not granted in time
            locked = self._fallback(str(exc), announce=True)
        return ask(locked)

    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        return self._answer(lambda source: source.latest(group, artifact))

    def schema(self, ref: SchemaRef) -> str:
        return self._answer(lambda source: source.schema(ref))

    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        return self._answer(lambda source: source.all_versions(group, artifact))


def client_for(settings: Mapping[str, Any]) -> RegistryClient:
    return RegistryClient(str(settings["url"]), auth.from_settings(settings),
                          timeout=float(settings.get("timeout_seconds", 5)),
                          deadline=float(settings.get("deadline_seconds", 10)),
                          retries=int(settings.get("retries", 4)))


def connect(settings: Mapping[str, Any], environment: str, schemas_dir: Path | None = None,
            log: JsonLogger | None = None) -> SchemaSource:
    directory = schemas_dir or default_schemas_dir()
    if str(settings.get("url", "local")) == "local":
        return LocalRegistry(directory)
    client = client_for(settings)
    shared = None
    if settings.get("update_key"):
        # Waiting for the lock: another process's lookup, bounded by its deadline (+ one attempt's timeout).
        wait = 2 * (client.deadline + client.timeout) + 5
        shared = UpdateVerdict(Path(str(settings.get("state_dir") or default_directory())),
                               str(settings["update_key"]), client.url, wait)
    return FallbackRegistry(client, directory, environment, log or JsonLogger(environment), shared)
