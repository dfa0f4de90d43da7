"""Words for the user in the user's language: translated errors and the agent's own fallback replies.

Every failure of the backend or its engines becomes one short sentence here; the engine's own message goes to the log
and the entry's diagnostics, never to the user.
"""

from __future__ import annotations

import time

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import translation

from .api import (
    HavenCoreAuthError,
    HavenCoreConnectionError,
    HavenCoreError,
    HavenCoreResponseError,
    HavenCoreTimeoutError,
)
from .const import DOMAIN, LOGGER
from .runtime import HavenCoreConfigEntry

# Statuses of a backend that is there but cannot serve now: its model is loading, or it is rate limiting.
_BUSY_STATUSES = (429, 503)
CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"


def backend_error(hass: HomeAssistant, entry: HavenCoreConfigEntry, err: HavenCoreError) -> HomeAssistantError:
    """The translated error to raise for a failed backend request: unreachable, rejected key (which starts
    re-authentication), too slow, busy, too long a prompt, or any other failure."""
    if isinstance(err, HavenCoreAuthError):
        entry.async_start_reauth(hass)
        key = "invalid_auth"
    elif isinstance(err, HavenCoreTimeoutError):
        key = "backend_timeout"
    elif isinstance(err, HavenCoreConnectionError):
        error = entry.runtime_data.availability.async_unreachable(err)
        _record(entry, error.translation_key, err)
        return error
    elif isinstance(err, HavenCoreResponseError) and err.status in _BUSY_STATUSES:
        key = "backend_busy"
    elif isinstance(err, HavenCoreResponseError) and err.code == CONTEXT_LENGTH_EXCEEDED:
        key = "prompt_too_large"
    else:
        key = "backend_failed"
    LOGGER.warning("The HavenCore backend failed a request (%s): %s", key, err)
    _record(entry, key, err)
    return HomeAssistantError(translation_domain=DOMAIN, translation_key=key)


def _record(entry: HavenCoreConfigEntry, key: str | None, err: Exception) -> None:
    """Keeps the latest failure for the entry's diagnostics."""
    entry.runtime_data.last_error = {"time": time.time(), "kind": key, "detail": str(err)}


async def async_translate(
    hass: HomeAssistant, key: str, language: str, placeholders: dict[str, str] | None = None
) -> str | None:
    """The message of ``exceptions.<key>`` in ``language`` (English when it has none)."""
    full_key = f"component.{DOMAIN}.exceptions.{key}.message"
    for lang in dict.fromkeys((language, "en")):
        strings = await translation.async_get_translations(hass, lang, "exceptions", [DOMAIN])
        if template := strings.get(full_key):
            return template.format(**(placeholders or {}))
    return None


async def async_error_message(hass: HomeAssistant, err: HomeAssistantError, language: str) -> str:
    """The error's translated message; its text when it has no key of ours."""
    if err.translation_domain != DOMAIN or err.translation_key is None:
        return str(err)
    message = await async_translate(hass, err.translation_key, language, err.translation_placeholders)
    return message or str(err)
