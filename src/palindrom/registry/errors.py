"""Registry errors. Messages carry the registry's own explanation, never credentials.

``RegistryUnavailable`` (and ``IdentityProviderUnavailable``) mean the registry could not be used
for now: connection refused, no answer within the lookup's deadline, 5xx, or an identity provider
that is down. ``InvalidResponse`` means something answered, but not as a registry does (an HTML
page, a body that is not an Avro schema). Pipelines fall back to the lockfile for these;
``RegistryAuthError`` (wrong credentials) and the others are answers that must be fixed.
"""

from __future__ import annotations


class RegistryError(RuntimeError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RegistryUnavailable(RegistryError):
    """Connection failures, timeouts or 5xx until the lookup's deadline or the last retry."""


class IdentityProviderUnavailable(RegistryUnavailable):
    """The OIDC token endpoint could not be reached, did not answer in time, or answered 5xx."""


class InvalidResponse(RegistryError):
    """An answer that is not what the registry API returns: not JSON, or not an Avro schema."""


class RegistryAuthError(RegistryError):
    """401/403: credentials missing, wrong or not allowed."""


class CredentialsRejected(RegistryAuthError):
    """The token endpoint refused the client's credentials (401, or 400 invalid_client)."""


class NotFound(RegistryError):
    pass


class RuleViolation(RegistryError):
    """A COMPATIBILITY/VALIDITY/INTEGRITY rule rejected the content (HTTP 409 up to 3.2, 400 from 3.3)."""

    def __init__(self, message: str, causes: list[str], status: int | None = None) -> None:
        super().__init__(message, status)
        self.causes = causes
