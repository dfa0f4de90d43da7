"""A Home Assistant client that talks as the frontend and companion apps do: REST plus the websocket API."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Any, Self

import aiohttp


# HA's own frontend is its own OAuth client (IndieAuth): the client id is the site's URL.
def client_id(base_url: str) -> str:
    """The OAuth client id of a browser on ``base_url``."""
    return f"{base_url}/"


class HomeAssistantError(RuntimeError):
    """Home Assistant answered with an error."""


class HomeAssistantClient:
    """REST calls with a bearer token, and one websocket connection for commands and subscriptions."""

    def __init__(self, base_url: str, token: str = "") -> None:
        self.base_url = base_url
        self.token = token
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the websocket and the HTTP session."""
        if self._ws is not None:
            await self._ws.close()
        await self._session.close()

    async def request(self, method: str, path: str, json: Any = None, data: Any = None) -> Any:
        """A REST call; returns the parsed JSON body (or None), raises on an error status."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self._session.request(method, self.base_url + path, json=json, data=data, headers=headers) as resp:
            body = await resp.text()
            if resp.status >= 400:
                raise HomeAssistantError(f"{method} {path}: {resp.status} {body}")
            return await resp.json(content_type=None) if body else None

    async def read_bytes(self, path: str) -> bytes:
        """GETs a binary resource (e.g. a TTS proxy URL, which carries its own token)."""
        return (await self._read_stream(path))[1]

    async def first_byte_at(self, path: str, limit: aiohttp.ClientTimeout | None = None) -> float:
        """Reads a streamed resource (a TTS stream) to its end, within ``limit`` (default: the session's); returns
        the monotonic time its first byte came."""
        return (await self._read_stream(path, limit))[0]

    async def _read_stream(self, path: str, limit: aiohttp.ClientTimeout | None = None) -> tuple[float, bytes]:
        """GETs a resource; returns when its first bytes arrived and the whole body."""
        async with self._session.get(self.base_url + path, timeout=limit or self._session.timeout) as resp:
            if resp.status >= 400:
                raise HomeAssistantError(f"GET {path}: {resp.status}")
            first = await resp.content.readany()
            first_at = time.monotonic()
            return first_at, first + await resp.read()

    async def _websocket(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is None or self._ws.closed:
            ws = await self._session.ws_connect(self.base_url + "/api/websocket", max_msg_size=0)
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            reply = await ws.receive_json()
            if reply.get("type") != "auth_ok":
                raise HomeAssistantError(f"websocket auth failed: {reply}")
            self._ws = ws
        return self._ws

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse, message_id: int) -> dict[str, Any]:
        """The next message for ``message_id``; messages of earlier, finished subscriptions are dropped."""
        while True:
            message: dict[str, Any] = await ws.receive_json()
            if message.get("id") == message_id:
                return message

    async def _start(
        self, command_type: str, fields: dict[str, Any]
    ) -> tuple[aiohttp.ClientWebSocketResponse, int, Any]:
        """Sends a command; returns the socket, the command's id and its result, raising when it failed."""
        ws = await self._websocket()
        message_id = next(self._ids)
        await ws.send_json({"id": message_id, "type": command_type, **fields})
        reply = await self._receive(ws, message_id)
        if not reply.get("success"):
            raise HomeAssistantError(f"{command_type}: {reply.get('error')}")
        return ws, message_id, reply.get("result")

    async def command(self, command_type: str, **fields: Any) -> Any:
        """Sends one websocket command and returns its result."""
        return (await self._start(command_type, fields))[2]

    async def subscribe(self, command_type: str, **fields: Any) -> AsyncGenerator[dict[str, Any]]:
        """Sends a subscribing command and yields each event's payload; the caller stops iterating when done."""
        ws, message_id, _ = await self._start(command_type, fields)
        while True:
            message = await self._receive(ws, message_id)
            event: dict[str, Any] = message["event"]
            yield event

    async def send_binary(self, payload: bytes) -> None:
        """Sends a binary websocket frame (audio for an Assist run, prefixed with its handler id)."""
        await (await self._websocket()).send_bytes(payload)

    async def state(self, entity_id: str) -> str:
        """The current state of an entity."""
        body = await self.request("GET", f"/api/states/{entity_id}")
        state: str = body["state"]
        return state

    async def call_service(self, domain: str, service: str, **data: Any) -> None:
        """Calls an action and waits until it is done."""
        await self.request("POST", f"/api/services/{domain}/{service}", json=data)

    async def exchange_code(self, code: str) -> None:
        """Trades an authorization code for an access token."""
        tokens = await self.request(
            "POST",
            "/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": client_id(self.base_url)},
        )
        self.token = tokens["access_token"]
