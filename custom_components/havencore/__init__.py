"""The HavenCore integration: a local voice assistant backend for Home Assistant."""

from __future__ import annotations

from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api import HavenCoreAuthError, HavenCoreClient, HavenCoreConnectionError
from .availability import BackendAvailability
from .const import CAPABILITY_STT, CAPABILITY_TTS, DOMAIN
from .memory_api import async_offer_memory_api
from .runtime import HavenCoreConfigEntry, HavenCoreRuntimeData
from .services import async_register_services
from .wyoming_client import async_describe

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = (Platform.AI_TASK, Platform.CONVERSATION, Platform.STT, Platform.TTS)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Registers the ``havencore.*`` actions (the memory LLM API comes with the first loaded entry)."""
    async_register_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: HavenCoreConfigEntry) -> bool:
    """Connects to the backend; retried by Home Assistant while the backend is down."""
    client = HavenCoreClient(async_get_clientsession(hass), entry.data[CONF_URL], entry.data.get(CONF_API_KEY, ""))
    try:
        info = await client.async_get_info()
        stt_info = (
            await async_describe(client.host, info.wyoming_stt_port) if CAPABILITY_STT in info.capabilities else None
        )
        tts_info = (
            await async_describe(client.host, info.wyoming_tts_port) if CAPABILITY_TTS in info.capabilities else None
        )
    except HavenCoreAuthError as err:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth") from err
    except HavenCoreConnectionError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"url": client.base_url},
        ) from err
    availability = BackendAvailability(hass, client)
    entry.async_on_unload(availability.async_shutdown)
    entry.runtime_data = HavenCoreRuntimeData(
        client=client,
        info=info,
        availability=availability,
        default_model=info.chat_model or "",
        stt_info=stt_info,
        tts_info=tts_info,
    )
    async_offer_memory_api(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_update))
    return True


async def _async_reload_on_update(hass: HomeAssistant, entry: HavenCoreConfigEntry) -> None:
    """Subentries and options changed: rebuild the entities."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: HavenCoreConfigEntry) -> bool:
    """Unloads the entry's platforms."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
