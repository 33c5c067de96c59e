"""Structured JSON logs: timestamp, level, message, requestId, service, environment."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, TextIO

SERVICE = "palindrom-pipelines"


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
        stream.write(json.dumps(record, default=str) + "\n")
        stream.flush()

    def info(self, message: str, **fields: Any) -> None:
        self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("WARN", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("ERROR", message, **fields)
