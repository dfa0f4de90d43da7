"""The HavenCore integration: a local voice assistant backend for Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import BackendInfo, HavenCoreAuthError, HavenCoreClient, HavenCoreConnectionError
from .const import DOMAIN


@dataclass(slots=True)
class HavenCoreRuntimeData:
    """What a loaded entry holds: the backend client and what the backend said about itself."""

    client: HavenCoreClient
    info: BackendInfo


type HavenCoreConfigEntry = ConfigEntry[HavenCoreRuntimeData]


async def async_setup_entry(hass: HomeAssistant, entry: HavenCoreConfigEntry) -> bool:
    """Connects to the backend; retried by Home Assistant while the backend is down."""
    client = HavenCoreClient(async_get_clientsession(hass), entry.data[CONF_URL], entry.data.get(CONF_API_KEY, ""))
    try:
        info = await client.async_get_info()
    except HavenCoreAuthError as err:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth") from err
    except HavenCoreConnectionError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"url": client.base_url},
        ) from err
    entry.runtime_data = HavenCoreRuntimeData(client=client, info=info)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HavenCoreConfigEntry) -> bool:
    """Unloads an entry; nothing is held open between requests yet."""
    return True
