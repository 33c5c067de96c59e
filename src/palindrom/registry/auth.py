"""Registry authentication: none, HTTP basic, or OIDC client credentials with a cached token.

Credentials come from the environment (``<PREFIX>_USERNAME``/``_PASSWORD`` or ``_CLIENT_ID``/
``_CLIENT_SECRET``) or a Databricks secret scope; never from files in the repository. Secrets are
kept in ``Secret`` objects whose ``repr`` hides them, so they cannot reach logs or error texts.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from palindrom.registry.errors import (
    CredentialsRejected,
    IdentityProviderUnavailable,
    InvalidResponse,
    RegistryAuthError,
)

REFRESH_MARGIN_SECONDS = 30.0


class Secret:
    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(****)"

    __str__ = __repr__


class Auth(Protocol):
    def headers(self, session: requests.Session, timeout: float) -> dict[str, str]: ...
    def invalidate(self) -> bool:
        """Forget cached credentials after a 401; True when asking again could succeed."""
        ...


class NoAuth:
    def headers(self, session: requests.Session, timeout: float) -> dict[str, str]:
        return {}

    def invalidate(self) -> bool:
        return False


@dataclass
class BasicAuth:
    username: str
    password: Secret

    def headers(self, session: requests.Session, timeout: float) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password.reveal()}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def invalidate(self) -> bool:
        return False


@dataclass
class OidcClientCredentials:
    """OAuth2 client-credentials grant (Keycloak and others); the token is reused until shortly
    before it expires, and fetched again after a 401."""

    token_url: str
    client_id: str
    client_secret: Secret
    scope: str | None = None
    clock: Callable[[], float] = time.monotonic
    _token: str | None = field(default=None, repr=False)
    _expires: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    fetched: int = 0

    def headers(self, session: requests.Session, timeout: float) -> dict[str, str]:
        with self._lock:
            if self._token is None or self.clock() >= self._expires - REFRESH_MARGIN_SECONDS:
                self._fetch(session, timeout)
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def _fetch(self, session: requests.Session, timeout: float) -> None:
        """A new token. Wrong credentials (401, or 400 with invalid_client / unauthorized_client /
        invalid_grant) raise CredentialsRejected; an identity provider that cannot be reached, does
        not answer within ``timeout`` or answers 5xx raises IdentityProviderUnavailable, which the
        client retries within its deadline and pipelines answer from the lockfile."""
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret.reveal()}
        if self.scope:
            form["scope"] = self.scope
        try:
            response = session.post(self.token_url, data=form, timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise IdentityProviderUnavailable(f"identity provider {self.token_url} unavailable: {type(exc).__name__} "
                                              f"(no token for client '{self.client_id}')") from None
        except requests.RequestException as exc:
            raise RegistryAuthError(f"token endpoint {self.token_url} cannot be asked: {type(exc).__name__}; "
                                    "check token_url in conf/.") from None
        status = response.status_code
        problem = _oauth_error(response)
        if status >= 500:
            raise IdentityProviderUnavailable(f"identity provider {self.token_url} unavailable: HTTP {status}"
                                              f"{problem} (no token for client '{self.client_id}')", status)
        if status == 401 or (status == 400 and problem.startswith(CREDENTIAL_ERRORS)):
            raise CredentialsRejected(f"token endpoint {self.token_url} refused client '{self.client_id}' "
                                      f"(HTTP {status}{problem}); check the client id and secret.", status)
        if status != 200:
            raise RegistryAuthError(f"token endpoint {self.token_url} answered HTTP {status}{problem} for client "
                                    f"'{self.client_id}'; check token_url and scope in conf/.", status)
        try:
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 300))
        except (ValueError, TypeError, KeyError, AttributeError):
            snippet = " ".join(response.text.split())[:120]
            raise InvalidResponse(f"token endpoint {self.token_url} answered HTTP 200 "
                                  f"{response.headers.get('Content-Type') or 'without a content type'} "
                                  f"without an access_token: {snippet!r}", status) from None
        self._token = token
        self._expires = self.clock() + lifetime
        self.fetched += 1


# The OAuth 2.0 error codes (RFC 6749 5.2) that mean the client's credentials are wrong.
CREDENTIAL_ERRORS = (": invalid_client", ": unauthorized_client", ": invalid_grant")


def _oauth_error(response: requests.Response) -> str:
    """``": <error>: <error_description>"`` of an OAuth error body, or ``""``; never the request."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict) or not body.get("error"):
        return ""
    description = str(body.get("error_description") or "")[:160]
    return f": {body['error']}" + (f": {description}" if description else "")


def from_settings(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None,
                  secret_lookup: Callable[[str, str], str] | None = None) -> Auth:
    """Build the auth a ``conf/<env>.yml`` registry section asks for.

    ``auth: none | basic | oidc``. Each credential is read from the environment variable
    ``<credentials_env>_USERNAME|_PASSWORD|_CLIENT_ID|_CLIENT_SECRET`` (default prefix
    ``PALINDROM_REGISTRY``) when set, else from the Databricks secret scope ``secret_scope`` (keys
    ``username``/``password`` or ``client-id``/``client-secret``).
    """
    kind = str(settings.get("auth", "none")).lower()
    if kind == "none":
        return NoAuth()
    env = os.environ if environ is None else environ
    prefix = str(settings.get("credentials_env", "PALINDROM_REGISTRY"))
    scope = settings.get("secret_scope")

    def read(env_suffix: str, scope_key: str) -> str:
        name = f"{prefix}_{env_suffix}"
        value = env.get(name)
        if value:
            return value
        if scope:
            lookup = secret_lookup or databricks_secret
            try:
                return lookup(str(scope), scope_key)
            except Exception as exc:   # the SDK raises many types; none of them carries the secret
                reason = (str(exc).splitlines() or [""])[0][:160]
                raise RegistryAuthError(f"registry auth '{kind}': {name} is not set and the secret '{scope_key}' "
                                        f"of Databricks secret scope '{scope}' could not be read "
                                        f"({type(exc).__name__}: {reason}). Set {name}, or configure Databricks "
                                        "authentication (DATABRICKS_HOST and a token or profile).") from None
        raise RegistryAuthError(f"registry auth '{kind}' needs the environment variable {name} "
                                f"(or secret_scope in conf/).")

    if kind == "basic":
        return BasicAuth(read("USERNAME", "username"), Secret(read("PASSWORD", "password")))
    if kind == "oidc":
        token_url = settings.get("token_url")
        if not token_url:
            raise RegistryAuthError("registry auth 'oidc' needs token_url in conf/.")
        return OidcClientCredentials(str(token_url), read("CLIENT_ID", "client-id"),
                                     Secret(read("CLIENT_SECRET", "client-secret")), settings.get("scope"))
    raise RegistryAuthError(f"unknown registry auth '{kind}'; use none, basic or oidc.")


def databricks_secret(scope: str, key: str) -> str:
    """A secret from a Databricks secret scope (databricks-sdk; values arrive base64-encoded)."""
    from databricks.sdk import WorkspaceClient

    value = WorkspaceClient().secrets.get_secret(scope, key).value or ""
    return base64.b64decode(value).decode()
