"""Diagnostics for a HavenCore entry, with the API key redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .runtime import HavenCoreConfigEntry

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: HavenCoreConfigEntry) -> dict[str, Any]:
    """The entry's settings, subentries and what the backend reported."""
    runtime = entry.runtime_data
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "backend": {
            "version": runtime.info.version,
            "capabilities": sorted(runtime.info.capabilities),
            "available": runtime.availability.available,
            "default_model": runtime.default_model,
            "stt": runtime.stt_info.to_dict() if runtime.stt_info else None,
            "tts": runtime.tts_info.to_dict() if runtime.tts_info else None,
            "last_error": runtime.last_error,
        },
    }
