"""Loads an engine in a worker thread after start-up, so the backend answers at once and /health shows progress."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from havencore_backend.components import ComponentState, ComponentStatus

_LOGGER = logging.getLogger(__name__)


class EngineUnavailableError(RuntimeError):
    """The engine is not configured or failed to load; the message says which and why."""


class EngineLoader[T]:
    """A background service that loads one engine; requests await ``get``, ``status`` is the health probe."""

    def __init__(self, component: str, load: Callable[[], T], description: str) -> None:
        self.name = f"load-{component}"
        self._component = component
        self._load = load
        self._description = description
        self._ready = asyncio.Event()
        self._engine: T | None = None
        self._error = ""

    def status(self) -> ComponentStatus:
        """LOADING until the engine is in memory, then OK, or ERROR with the reason."""
        if not self._ready.is_set():
            return ComponentStatus(ComponentState.LOADING, f"loading {self._description}")
        if self._engine is None:
            return ComponentStatus(ComponentState.ERROR, self._error)
        return ComponentStatus(ComponentState.OK, self._description)

    async def run(self) -> None:
        """Loads the engine, then idles until cancelled; a load failure is reported, not raised."""
        _LOGGER.info("%s: loading %s", self._component, self._description)
        try:
            self._engine = await asyncio.to_thread(self._load)
        except Exception as err:  # any engine failure leaves the rest of the backend serving
            self._error = f"{self._description} failed to load: {err}"
            _LOGGER.error("%s: %s", self._component, self._error, exc_info=err)
        else:
            _LOGGER.info("%s: %s ready", self._component, self._description)
        finally:
            self._ready.set()
        await asyncio.Event().wait()

    async def get(self) -> T:
        """The engine, once loaded; raises ``EngineUnavailableError`` when it could not be."""
        await self._ready.wait()
        if self._engine is None:
            raise EngineUnavailableError(self._error)
        return self._engine
