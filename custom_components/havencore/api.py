"""HTTP client for the HavenCore backend's own routes; chat and speech go through their standard protocols."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from .const import CONNECT_TIMEOUT, INFO_PATH


class HavenCoreError(Exception):
    """Base error of the backend client."""


class HavenCoreConnectionError(HavenCoreError):
    """The backend could not be reached or answered with something that is not HavenCore."""


class HavenCoreAuthError(HavenCoreError):
    """The backend rejected the API key."""


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What ``GET /v1/havencore/info`` tells about a backend."""

    instance_id: str
    version: str
    wyoming_host: str
    wyoming_stt_port: int
    wyoming_tts_port: int
    capabilities: frozenset[str]

    @classmethod
    def from_json(cls, data: Any) -> BackendInfo:
        """Parses the info body, e.g. ``{"instance_id": "3f2a…", "version": "0.1.0", "wyoming": {...}, ...}``."""
        try:
            wyoming = data["wyoming"]
            return cls(
                instance_id=str(data["instance_id"]),
                version=str(data["version"]),
                wyoming_host=str(wyoming["host"]),
                wyoming_stt_port=int(wyoming["stt_port"]),
                wyoming_tts_port=int(wyoming["tts_port"]),
                capabilities=frozenset(str(item) for item in data["capabilities"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise HavenCoreConnectionError(f"Unexpected answer from the backend: {err!r}") from err


class HavenCoreClient:
    """Talks to one backend through Home Assistant's shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key

    @property
    def headers(self) -> dict[str, str]:
        """Request headers, with the bearer key when one is configured."""
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    async def async_get_info(self) -> BackendInfo:
        """Fetches the backend's identity and capabilities."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                async with self._session.get(self.base_url + INFO_PATH, headers=self.headers) as response:
                    if response.status == 401:
                        raise HavenCoreAuthError("The backend rejected the API key")
                    if response.status != 200:
                        raise HavenCoreConnectionError(f"The backend answered HTTP {response.status}")
                    body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise HavenCoreConnectionError(f"Cannot reach the backend at {self.base_url}: {err!r}") from err
        return BackendInfo.from_json(body)
