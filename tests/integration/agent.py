"""Sets up the HavenCore entry with its default conversation agent against the real backend."""

from __future__ import annotations

from typing import Any

from homeassistant.components.conversation.trace import async_get_traces
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant

from custom_components.havencore.const import CONF_PREFER_LOCAL_INTENTS, DOMAIN, SUBENTRY_CONVERSATION
from tests.backend_process import RunningBackend
from tests.integration.conftest import API_KEY

AGENT = "conversation.havencore_conversation"


async def async_set_up_agent(
    hass: HomeAssistant, backend: RunningBackend, *, local_first: bool = True, extra: dict[str, Any] | None = None
) -> None:
    """Adds the entry through the user flow; ``extra`` options go into the conversation subentry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    changes = {**(extra or {}), **({} if local_first else {CONF_PREFER_LOCAL_INTENTS: False})}
    if changes:
        subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
        hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, **changes})
        await hass.async_block_till_done()
    assert hass.states.get(AGENT) is not None


def traced_requests() -> list[dict[str, Any]]:
    """The chat requests the agent sent in the traced conversations."""
    return [
        event["data"]["havencore_request"]
        for trace in async_get_traces()
        for event in trace.as_dict()["events"]
        if "havencore_request" in event.get("data", {})
    ]
