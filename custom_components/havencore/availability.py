"""Whether the backend is reachable, shared by every entity of an entry; logs the loss once and the return once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval

from .api import HavenCoreClient, HavenCoreError
from .const import DOMAIN, LOGGER, RECOVERY_PROBE_SECONDS


class BackendAvailability:
    """Tracks the backend's reachability from real requests, and probes it while it is lost."""

    def __init__(self, hass: HomeAssistant, client: HavenCoreClient) -> None:
        self._hass = hass
        self._client = client
        self.available = True
        self._listeners: list[Callable[[], None]] = []
        self._cancel_probe: CALLBACK_TYPE | None = None

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Calls ``listener`` whenever availability changes; returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_mark_lost(self, error: Exception) -> None:
        """Records a failed request; starts probing for the backend's return."""
        if not self.available:
            return
        self.available = False
        LOGGER.warning("HavenCore backend at %s is unavailable: %s", self._client.base_url, error)
        self._cancel_probe = async_track_time_interval(
            self._hass,
            self._async_start_probe,
            timedelta(seconds=RECOVERY_PROBE_SECONDS),
            name="havencore backend probe",
        )
        self._notify()

    @callback
    def async_unreachable(self, error: Exception) -> HomeAssistantError:
        """Records a failed request and returns the translated error to raise for it."""
        self.async_mark_lost(error)
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="backend_unreachable",
            translation_placeholders={"url": self._client.base_url},
        )

    @callback
    def async_mark_ok(self) -> None:
        """Records a successful request."""
        if self.available:
            return
        self.available = True
        LOGGER.info("HavenCore backend at %s is available again", self._client.base_url)
        self.async_shutdown()
        self._notify()

    @callback
    def _async_start_probe(self, _now: datetime) -> None:
        # Not eager: the probe's request starts after the timer callback returns, not inside it.
        self._hass.async_create_background_task(self._async_probe(), "havencore backend probe", eager_start=False)

    async def _async_probe(self) -> None:
        try:
            await self._client.async_get_info()
        except HavenCoreError as err:
            LOGGER.debug("HavenCore backend still unavailable: %s", err)
            return
        self.async_mark_ok()

    @callback
    def async_shutdown(self) -> None:
        """Stops probing (on unload or recovery)."""
        if self._cancel_probe is not None:
            self._cancel_probe()
            self._cancel_probe = None

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
