"""Whose memory an action or tool acts on, which backend keeps it, and its failures as translated errors."""

from __future__ import annotations

from collections.abc import Awaitable

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .api import HavenCoreError
from .const import ANONYMOUS_USER_ID, DOMAIN
from .errors import backend_error
from .runtime import HavenCoreConfigEntry


def memory_user_id(user_id: str | None) -> str:
    """The backend's key for a Home Assistant user; turns without one share the household's memory."""
    return user_id or ANONYMOUS_USER_ID


def loaded_entry(hass: HomeAssistant, entry_id: str | None = None) -> HavenCoreConfigEntry:
    """The loaded HavenCore entry with this id, or the first loaded one when no id is given."""
    if entry_id is None:
        for entry in hass.config_entries.async_loaded_entries(DOMAIN):
            return entry
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_backend")
    found: HavenCoreConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if found is None or found.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="unknown_entry", translation_placeholders={"entry": entry_id}
        )
    if found.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="entry_not_loaded", translation_placeholders={"entry": entry_id}
        )
    return found


async def async_backend_call[T](hass: HomeAssistant, entry: HavenCoreConfigEntry, request: Awaitable[T]) -> T:
    """Awaits a backend request; its failures become translated errors (see ``errors.backend_error``)."""
    try:
        return await request
    except HavenCoreError as err:
        raise backend_error(hass, entry, err) from err
