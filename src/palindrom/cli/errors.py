"""One sentence for each error a user can act on; anything else is a bug and keeps its traceback."""

from __future__ import annotations

from pyspark.errors import PySparkException

from palindrom.cli.target import UserError
from palindrom.runtime.java import JavaNotFoundError
from palindrom.runtime.lock import StorageBusyError
from palindrom.runtime.spec import ConfigurationError


def explain(exc: BaseException) -> tuple[str | None, int]:
    """(message, exit code); message None when the error is not the user's to fix."""
    if isinstance(exc, UserError):
        return str(exc), exc.code
    if isinstance(exc, ConfigurationError):
        return str(exc), 2
    if isinstance(exc, StorageBusyError | JavaNotFoundError):
        return str(exc), 1
    if isinstance(exc, PySparkException):
        if exc.getCondition() == "JAVA_GATEWAY_EXITED":
            return ("the Spark JVM did not start; its output is in STORAGE/logs/jvm.log "
                    "(run again with --verbose to see it here)."), 1
        return str(exc).split("\n\nJVM stacktrace:", 1)[0].strip(), 1
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}", 1
    return None, 1
