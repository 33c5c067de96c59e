"""Registry errors. Messages carry the registry's own explanation, never credentials."""

from __future__ import annotations


class RegistryError(RuntimeError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RegistryUnavailable(RegistryError):
    """Connection failures, timeouts or 5xx after every retry."""


class RegistryAuthError(RegistryError):
    """401/403: credentials missing, wrong or not allowed."""


class NotFound(RegistryError):
    pass


class RuleViolation(RegistryError):
    """A COMPATIBILITY/VALIDITY/INTEGRITY rule rejected the content (HTTP 409 up to 3.2, 400 from 3.3)."""

    def __init__(self, message: str, causes: list[str], status: int | None = None) -> None:
        super().__init__(message, status)
        self.causes = causes
