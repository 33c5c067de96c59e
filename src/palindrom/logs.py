"""Structured JSON logs: timestamp, level, message, requestId, service, environment.

Secrets never reach our output. Values of configuration keys that name a secret (Spark's default
``spark.redaction.regex``: secret, password, token, access key) and of environment variables whose
name does are registered here; :func:`redact` replaces them in log lines, event log rows and the
terminal. The values themselves still reach pipeline code unchanged (``spark.conf.get``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

SERVICE = "palindrom-pipelines"
SECRET_NAME = re.compile(r"(?i)secret|password|token|access[._]?key")  # Spark's default redaction regex
REDACTED = "*********(redacted)"
_NOT_SECRETS = {"true", "false", "none", "null", "local"}
_SECRETS: set[str] = set()


def register_secrets(settings: Mapping[str, str]) -> None:
    """Remember the values of ``settings`` whose key names a secret (switches such as ``true``, and
    values shorter than 4 characters, say nothing and are not redacted)."""
    for key, value in settings.items():
        if SECRET_NAME.search(key) and len(value) >= 4 and value.lower() not in _NOT_SECRETS:
            _SECRETS.add(value)


def register_environment() -> None:
    """Credentials from the environment (``*_TOKEN``, ``*_SECRET*``, ``*_PASSWORD``, access keys)."""
    register_secrets(dict(os.environ))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced, as is and as escaped inside JSON strings."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret:
            text = text.replace(escaped, REDACTED)
    return text


class RedactingStream:
    """A text stream that redacts secrets from what is written to it (the terminal of a run)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(redact(text))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class JsonLogger:
    def __init__(self, environment: str, stream: TextIO | None = None) -> None:
        self.environment = environment
        self.request_id = "-"
        self._stream = stream

    def log(self, level: str, message: str, **fields: Any) -> None:
        record = {
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level, "message": message, "requestId": self.request_id,
            "service": SERVICE, "environment": self.environment, **fields,
        }
        stream = self._stream or sys.stderr
        stream.write(redact(json.dumps(record, default=str)) + "\n")
        stream.flush()

    def info(self, message: str, **fields: Any) -> None:
        self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("WARN", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("ERROR", message, **fields)
