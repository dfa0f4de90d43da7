"""Turns the integration's translated errors into words for the user, in the user's language."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import translation

from .const import DOMAIN


async def async_error_message(hass: HomeAssistant, err: HomeAssistantError, language: str) -> str:
    """The error's translated message (English when the language has none); its text when it has no key."""
    if err.translation_domain != DOMAIN or err.translation_key is None:
        return str(err)
    key = f"component.{DOMAIN}.exceptions.{err.translation_key}.message"
    for lang in dict.fromkeys((language, "en")):
        strings = await translation.async_get_translations(hass, lang, "exceptions", [DOMAIN])
        if template := strings.get(key):
            return template.format(**(err.translation_placeholders or {}))
    return str(err)
