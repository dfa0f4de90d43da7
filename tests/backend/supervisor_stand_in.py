"""A local stand-in for the Supervisor's discovery API: the route, token header, body rules and answers of
``supervisor/api/discovery.py`` (``POST /discovery`` answers ``{"result": "ok", "data": {"uuid": ...}}``; a service
the add-on's config does not list is refused with 403, a bad token with 401)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SupervisorStandIn:
    """The server, what it was sent, and how many of the next requests fail with 502 (a Supervisor restarting)."""

    token: str
    discovery: tuple[str, ...]
    messages: list[dict[str, Any]] = field(default_factory=list)
    failures_left: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> SupervisorStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path != "/discovery":
                    self._answer(404, {"result": "error", "message": "not found"})
                    return
                if stand_in.failures_left > 0:
                    stand_in.failures_left -= 1
                    self._answer(502, {"result": "error", "message": "restarting"})
                    return
                token = self.headers.get("X-Supervisor-Token") or self.headers.get("Authorization") or ""
                if token.removeprefix("Bearer ") != stand_in.token:
                    self._answer(401, {"result": "error", "message": "Invalid token"})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                except ValueError:
                    body = None
                valid = isinstance(body, dict) and isinstance(body.get("service"), str)
                if not (valid and isinstance(body.get("config"), dict)):
                    self._answer(400, {"result": "error", "message": "Invalid body"})
                    return
                if body["service"] not in stand_in.discovery:
                    message = "Apps must list services they provide via discovery in their config!"
                    self._answer(403, {"result": "error", "message": message})
                    return
                stand_in.messages.append(body)
                self._answer(200, {"result": "ok", "data": {"uuid": uuid.uuid4().hex}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
