"""HTTP client for the HavenCore backend: its own info route and the OpenAI-compatible chat API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from .const import CHAT_PATH, CHAT_TIMEOUT, CONNECT_TIMEOUT, INFO_PATH, MODELS_PATH


class HavenCoreError(Exception):
    """Base error of the backend client."""


class HavenCoreConnectionError(HavenCoreError):
    """The backend could not be reached, went away, or answered with something that is not HavenCore."""


class HavenCoreAuthError(HavenCoreError):
    """The backend rejected the API key."""


class HavenCoreResponseError(HavenCoreError):
    """The backend understood the request but refused or failed it (an OpenAI-style error body)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What ``GET /v1/havencore/info`` tells about a backend."""

    instance_id: str
    version: str
    wyoming_stt_port: int
    wyoming_tts_port: int
    capabilities: frozenset[str]
    # Ids in /v1/models: the chat model (the agents' default) and the embeddings model (never a chat choice).
    chat_model: str | None
    embeddings_model: str | None

    @classmethod
    def from_json(cls, data: Any) -> BackendInfo:
        """Parses the info body, e.g. ``{"instance_id": "3f2a…", "version": "0.1.0", "wyoming": {...}, ...}``."""
        try:
            wyoming = data["wyoming"]
            return cls(
                instance_id=str(data["instance_id"]),
                version=str(data["version"]),
                wyoming_stt_port=int(wyoming["stt_port"]),
                wyoming_tts_port=int(wyoming["tts_port"]),
                capabilities=frozenset(str(item) for item in data["capabilities"]),
                chat_model=data.get("chat_model"),
                embeddings_model=data.get("embeddings_model"),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise HavenCoreConnectionError(f"Unexpected answer from the backend: {err!r}") from err


def _error_message(body: Any, status: int) -> str:
    """The message of an OpenAI-style error body, e.g. ``{"error": {"message": "model not found", ...}}``."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or f"HTTP {status}")
    return f"HTTP {status}"


def parse_sse_line(line: bytes) -> dict[str, Any] | None:
    """Decodes one server-sent-events line of a chat stream; ``None`` for keep-alives, comments and ``[DONE]``.

    Lines look like ``data: {"choices": [{"delta": {"content": "Hi"}, "index": 0}], ...}``.
    """
    text = line.decode("utf-8").strip()
    if not text.startswith("data:"):
        return None
    payload = text.removeprefix("data:").strip()
    if payload == "[DONE]":
        return None
    try:
        chunk = json.loads(payload)
    except ValueError as err:
        raise HavenCoreConnectionError(f"Unreadable stream chunk from the backend: {payload[:200]!r}") from err
    if not isinstance(chunk, dict):
        raise HavenCoreConnectionError(f"Unexpected stream chunk from the backend: {payload[:200]!r}")
    if "error" in chunk:
        raise HavenCoreResponseError(500, _error_message(chunk, 500))
    return chunk


class HavenCoreClient:
    """Talks to one backend through Home Assistant's shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key

    @property
    def host(self) -> str:
        """The backend's host name, which also serves its Wyoming ports."""
        host = URL(self.base_url).host
        return host or "127.0.0.1"

    @property
    def headers(self) -> dict[str, str]:
        """Request headers, with the bearer key when one is configured."""
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    async def _get_json(self, path: str) -> Any:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                async with self._session.get(self.base_url + path, headers=self.headers) as response:
                    body = await response.json(content_type=None)
                    self._raise_for_status(response.status, body)
                    return body
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise HavenCoreConnectionError(f"Cannot reach the backend at {self.base_url}: {err!r}") from err

    @staticmethod
    def _raise_for_status(status: int, body: Any) -> None:
        if status == 401:
            raise HavenCoreAuthError("The backend rejected the API key")
        if status == 404 and not isinstance(body, dict):
            raise HavenCoreConnectionError("No HavenCore backend at this URL")
        if status >= 400:
            raise HavenCoreResponseError(status, _error_message(body, status))

    async def async_get_info(self) -> BackendInfo:
        """Fetches the backend's identity and capabilities."""
        try:
            return BackendInfo.from_json(await self._get_json(INFO_PATH))
        except HavenCoreResponseError as err:
            raise HavenCoreConnectionError(f"No HavenCore backend at this URL ({err})") from err

    async def async_list_models(self) -> list[str]:
        """Ids of the chat models the backend serves, its default first."""
        body = await self._get_json(MODELS_PATH)
        try:
            return [str(model["id"]) for model in body["data"]]
        except (KeyError, TypeError) as err:
            raise HavenCoreConnectionError(f"Unexpected model list from the backend: {err!r}") from err

    async def async_stream_chat(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Streams an OpenAI-style chat completion, yielding each decoded chunk; the last one carries the usage."""
        try:
            async with asyncio.timeout(CHAT_TIMEOUT):
                async with self._session.post(
                    self.base_url + CHAT_PATH,
                    json={**payload, "stream": True, "stream_options": {"include_usage": True}},
                    headers=self.headers,
                ) as response:
                    if response.status >= 400:
                        self._raise_for_status(response.status, await response.json(content_type=None))
                    async for line in response.content:
                        if (chunk := parse_sse_line(line)) is not None:
                            yield chunk
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise HavenCoreConnectionError(f"Lost the backend at {self.base_url}: {err!r}") from err
