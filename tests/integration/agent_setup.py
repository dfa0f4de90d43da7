"""Sets up HavenCore against a backend with one conversation agent, its options changed as a test needs."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant

from custom_components.havencore.const import DOMAIN, SUBENTRY_CONVERSATION
from custom_components.havencore.runtime import HavenCoreConfigEntry

AGENT = "conversation.havencore_conversation"


async def async_set_up_agent(hass: HomeAssistant, url: str, api_key: str, **options: Any) -> HavenCoreConfigEntry:
    """Adds the backend through the config flow and applies ``options`` to its conversation agent."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: url, CONF_API_KEY: api_key})
    await hass.async_block_till_done()
    entry: HavenCoreConfigEntry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    if options:
        subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
        hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, **options})
        await hass.async_block_till_done()
    assert hass.states.get(AGENT) is not None
    return entry
