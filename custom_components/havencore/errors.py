"""Words for the user in the user's language: translated errors and the agent's own fallback replies."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import translation

from .const import DOMAIN


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
