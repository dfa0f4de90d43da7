"""Wyoming requests the integration makes besides streaming audio: asking a server to describe itself."""

from __future__ import annotations

import asyncio

from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from .api import HavenCoreConnectionError
from .const import CONNECT_TIMEOUT


async def async_describe(host: str, port: int) -> Info:
    """The ``info`` a Wyoming server answers to ``describe``."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), AsyncTcpClient(host, port) as client:
            await client.write_event(Describe().event())
            while (event := await client.read_event()) is not None:
                if Info.is_type(event.type):
                    return Info.from_event(event)
    except (OSError, TimeoutError) as err:
        raise HavenCoreConnectionError(f"Cannot reach the Wyoming server at {host}:{port}: {err!r}") from err
    raise HavenCoreConnectionError(f"The Wyoming server at {host}:{port} closed without describing itself")
