"""Runs a Wyoming TCP server as a background service of the backend."""

from __future__ import annotations

import asyncio
import logging

from wyoming.server import AsyncTcpServer, HandlerFactory

_LOGGER = logging.getLogger(__name__)


class WyomingService:
    """Serves one Wyoming endpoint until cancelled; each connection gets a handler from ``handler_factory``."""

    def __init__(self, name: str, host: str, port: int, handler_factory: HandlerFactory) -> None:
        self.name = name
        self._host = host
        self._port = port
        self._handler_factory = handler_factory

    async def run(self) -> None:
        """Listens (raising if the port is taken), then serves until cancelled."""
        # start(), not run(): run() installs its own SIGTERM handler, and the backend owns the signals.
        server = AsyncTcpServer(self._host, self._port)
        await server.start(self._handler_factory)
        _LOGGER.info("%s listening on tcp://%s:%d", self.name, self._host, self._port)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()
