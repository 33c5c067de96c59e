"""A local HTTP server that answers like the Databricks pipelines API, for the databricks-sdk path.

Implements what ``pipelines quality --pipeline-id`` uses, with the real API's rules:
``GET /api/2.0/pipelines/{id}`` and ``GET /api/2.0/pipelines/{id}/events`` (``max_results`` at most
100, default 25; ``order_by`` of ``timestamp asc|desc``, newest first by default; ``page_token``
mutually exclusive with everything but ``max_results``; ``details`` as a JSON object), bearer-token
auth answered with 401 ``UNAUTHENTICATED``, and 404 ``RESOURCE_DOES_NOT_EXIST``.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class FakePipeline:
    pipeline_id: str
    name: str
    events: list[dict[str, Any]]   # API-shaped events, any order


@dataclass
class FakeDatabricks:
    token: str
    pipelines: dict[str, FakePipeline] = field(default_factory=dict)
    page_cap: int = 7                       # the API may return fewer than max_results per page
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    url: str = ""

    def __enter__(self) -> FakeDatabricks:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = parse_qs(parsed.query)
                fake.requests.append((parsed.path, query))
                if parsed.path.startswith("/.well-known/"):   # host metadata: this fake has none
                    return self._send(404, {"error_code": "NOT_FOUND", "message": "Not found"})
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"error_code": "UNAUTHENTICATED",
                                            "message": "Credential was not sent or was of an unsupported type "
                                                       "for this API."})
                parts = parsed.path.strip("/").split("/")
                if parts[:3] != ["api", "2.0", "pipelines"] or len(parts) not in (4, 5):
                    return self._send(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for "
                                                                                          f"'GET {parsed.path}'"})
                pipeline = fake.pipelines.get(parts[3])
                if pipeline is None:
                    return self._send(404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                            "message": f"The specified pipeline {parts[3]} was not found."})
                if len(parts) == 4:
                    return self._send(200, {"pipeline_id": pipeline.pipeline_id, "name": pipeline.name,
                                            "state": "IDLE", "spec": {"id": pipeline.pipeline_id,
                                                                      "name": pipeline.name}})
                if parts[4] != "events":
                    return self._send(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": parsed.path})
                return self._events(pipeline, query)

            def _events(self, pipeline: FakePipeline, query: dict[str, list[str]]) -> None:
                size = int(query.get("max_results", ["25"])[0])
                if size > 100:
                    return self._send(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                            "message": "max_results must be at most 100."})
                if "page_token" in query:
                    if set(query) - {"page_token", "max_results"}:
                        return self._send(400, {"error_code": "INVALID_PARAMETER_VALUE", "message":
                                                "page_token cannot be combined with filter or order_by."})
                    state = json.loads(base64.b64decode(query["page_token"][0]))
                    offset, descending = state["offset"], state["desc"]
                else:
                    order = query.get("order_by", ["timestamp desc"])[0].lower()
                    offset, descending = 0, not order.endswith("asc")
                ordered = sorted(pipeline.events, key=lambda e: (e["timestamp"], e["sequence"]["data_plane_id"]
                                                                 ["seq_no"]), reverse=descending)
                page = ordered[offset:offset + min(size, fake.page_cap)]
                body: dict[str, Any] = {"events": page}
                if offset + len(page) < len(ordered):
                    token = {"offset": offset + len(page), "desc": descending}
                    body["next_page_token"] = base64.b64encode(json.dumps(token).encode()).decode()
                return self._send(200, body)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def api_events(spark: Any, database: str) -> list[dict[str, Any]]:
    """The local event log table's rows shaped as the events API returns them."""
    events = []
    for row in spark.sql(f"SELECT * FROM `{database}`.event_log").collect():
        event = row.asDict(recursive=True)
        event["timestamp"] = event["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event["details"] = json.loads(event["details"])
        event["sequence"] = json.loads(event["sequence"])
        event["origin"] = {k: v for k, v in event["origin"].items() if v is not None}
        if event["error"] is None:
            del event["error"]
        events.append(event)
    return events
