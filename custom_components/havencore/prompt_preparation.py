"""Sends an agent's prompt to the backend before anyone speaks, so that the first turn finds it cached.

Computing the system message and tools of a first turn costs the packaged 0.5B model about 8 ms per token on 2 CPU
cores (10 s for a home of a dozen devices, 30 s for fifty); every later turn reuses that prefill (see
``prompt_layout``). Without preparation the first command after the backend or Home Assistant starts, or after the
agent's options or the exposed entities change, waits for all of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.debounce import Debouncer

from .api import HavenCoreAuthError, HavenCoreConnectionError, HavenCoreResponseError
from .const import LOGGER, PREPARE_AFTER_CHANGES_SECONDS, PREPARE_PROMPT_ATTEMPTS, PREPARE_PROMPT_RETRY_SECONDS
from .runtime import HavenCoreConfigEntry

# The user message after the prepared prefix; only one token is generated for it.
PREPARE_MESSAGE = "Hello"
_MODEL_LOADING = 503


class PromptPreparation:
    """Prepares one agent's prompt when Home Assistant has started, whenever the backend comes back and after the
    exposed entities, their names or their areas change; one preparation at a time, cancelled when the entry
    unloads."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: HavenCoreConfigEntry,
        first_turn_request: Callable[[], Awaitable[dict[str, Any]]],
        agent: str,
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._first_turn_request = first_turn_request
        self._agent = agent
        self._task: asyncio.Task[None] | None = None
        # Set when what the running preparation sends may be out of date.
        self._again = False
        # Exposing or hiding several entities in a row prepares once, after them.
        self._after_changes = Debouncer(
            hass, LOGGER, cooldown=PREPARE_AFTER_CHANGES_SECONDS, immediate=False, function=self.async_start
        )

    @callback
    def async_start(self) -> None:
        """Starts preparing, or prepares again after the running preparation."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self._entry.async_create_background_task(
            self._hass, self._async_prepare_current(), f"havencore prompt preparation {self._agent}"
        )

    @callback
    def async_started(self, _hass: HomeAssistant) -> None:
        """Home Assistant has started: the exposed entities are all there."""
        self.async_start()

    @callback
    def async_availability_changed(self) -> None:
        """A backend that comes back may have restarted and lost its cache."""
        if self._entry.runtime_data.availability.available:
            self.async_start()

    @callback
    def async_exposed_entities_changed(self) -> None:
        """What is exposed, or what it is called or where it is, changed: so did the entity overview and the tools'
        names."""
        self._after_changes.async_schedule_call()

    @callback
    def async_stop(self) -> None:
        """Drops a pending preparation after changes (the entity goes away)."""
        self._after_changes.async_cancel()

    async def _async_prepare_current(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            await self._async_prepare()

    async def _async_prepare(self) -> None:
        runtime = self._entry.runtime_data
        for _ in range(PREPARE_PROMPT_ATTEMPTS):
            started = time.monotonic()
            try:
                # Building the request counts its tokens on the backend, which may still be loading its model.
                request = await self._first_turn_request()
                usage = await _async_prefill(runtime.client.async_stream_chat(request))
            except HomeAssistantError as err:
                LOGGER.debug("Not preparing the prompt of %s: %s", self._agent, err)
                return
            except HavenCoreResponseError as err:
                if err.status != _MODEL_LOADING:
                    LOGGER.debug("The backend refused to prepare the prompt of %s: %s", self._agent, err)
                    return
                LOGGER.debug("Preparing the prompt of %s later, its model is not available yet: %s", self._agent, err)
                await asyncio.sleep(PREPARE_PROMPT_RETRY_SECONDS)
                continue
            except (HavenCoreAuthError, HavenCoreConnectionError) as err:
                # Left to the next turn to report: a long prefill on a slow host may outlast the chat timeout
                # without the backend being gone.
                LOGGER.debug("Not preparing the prompt of %s: %s", self._agent, err)
                return
            details = usage.get("prompt_tokens_details") or {}
            LOGGER.debug(
                "Prepared the prompt of %s: %s tokens (%s of them already cached) in %.1f s",
                self._agent,
                usage.get("prompt_tokens"),
                details.get("cached_tokens"),
                time.monotonic() - started,
            )
            return
        LOGGER.debug("Gave up preparing the prompt of %s: the backend's model did not become available", self._agent)


async def _async_prefill(chunks: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    """Reads a chat stream to its end; returns its usage (empty when the server sends none)."""
    usage: dict[str, Any] = {}
    async for chunk in chunks:
        if isinstance(chunk.get("usage"), dict):
            usage = chunk["usage"]
    return usage
