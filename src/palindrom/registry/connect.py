"""The registry a pipeline or command uses, from configuration keys ``palindrom.registry.*``.

``palindrom.registry.url`` is ``local`` (the default: ``schemas/`` needs no server) or an Apicurio
base URL. With a URL, ``auth`` (none|basic|oidc), ``token_url``, ``credentials_env`` or
``secret_scope``, ``timeout_seconds`` and ``retries`` apply. When the registry cannot be reached,
lookups fall back to the environment's ``schemas/registry.<env>.lock.json`` with a warning.
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
from palindrom.registry.errors import RegistryUnavailable
from palindrom.registry.local import LocalRegistry, LockedRegistry, SchemaSource
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
    """An HTTP registry that answers from the lockfile once the server cannot be reached."""

    def __init__(self, client: RegistryClient, schemas_dir: Path, environment: str, log: JsonLogger) -> None:
        self.client = client
        self.environment = environment
        self.url = client.url
        self.schemas_dir = schemas_dir
        self.log = log
        self._locked: LockedRegistry | None = None

    def _fallback(self, error: RegistryUnavailable) -> LockedRegistry:
        if self._locked is None:
            self._locked = LockedRegistry(self.schemas_dir, self.environment)
            self.log.warning(f"Schema registry unreachable; using the lockfile {self._locked.path} "
                             f"(resolved {self._locked.lock.get('resolved_at')}) instead.",
                             registry=self.client.url, reason=str(error))
        return self._locked

    def _answer(self, ask: Callable[[SchemaSource], Answer]) -> Answer:
        """The server's answer, or the lockfile's once the server could not be reached."""
        if self._locked is None:
            try:
                return ask(self.client)
            except RegistryUnavailable as exc:
                return ask(self._fallback(exc))
        return ask(self._locked)

    def latest(self, group: str, artifact: str) -> ArtifactVersion:
        return self._answer(lambda source: source.latest(group, artifact))

    def schema(self, ref: SchemaRef) -> str:
        return self._answer(lambda source: source.schema(ref))

    def all_versions(self, group: str, artifact: str) -> list[ArtifactVersion]:
        return self._answer(lambda source: source.all_versions(group, artifact))


def client_for(settings: Mapping[str, Any]) -> RegistryClient:
    return RegistryClient(str(settings["url"]), auth.from_settings(settings),
                          timeout=float(settings.get("timeout_seconds", 10)), retries=int(settings.get("retries", 4)))


def connect(settings: Mapping[str, Any], environment: str, schemas_dir: Path | None = None,
            log: JsonLogger | None = None) -> SchemaSource:
    directory = schemas_dir or default_schemas_dir()
    if str(settings.get("url", "local")) == "local":
        return LocalRegistry(directory)
    return FallbackRegistry(client_for(settings), directory, environment, log or JsonLogger(environment))
