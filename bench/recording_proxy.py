"""A loopback HTTP proxy in front of the HavenCore backend that keeps each chat request HavenCore's agent sends, so
the benchmark can count the prompt tokens of exactly what went to the model. Responses pass through unchanged."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web

from tests.backend_process import free_port

CHAT_COMPLETIONS = "/v1/chat/completions"
FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept")


class RecordingProxy:
    """Forwards every request to ``target``; ``chat_requests`` holds the JSON bodies of the chat completions."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.chat_requests: list[dict[str, Any]] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serves on a free loopback port; returns the proxy's URL."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stops serving and closes the upstream session."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        if request.method == "POST" and request.path == CHAT_COMPLETIONS:
            self.chat_requests.append(json.loads(body))
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        async with self._session.request(
            request.method, self.target + request.path_qs, data=body, headers=headers
        ) as upstream:
            response = web.StreamResponse(status=upstream.status)
            if "Content-Type" in upstream.headers:
                response.headers["Content-Type"] = upstream.headers["Content-Type"]
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
