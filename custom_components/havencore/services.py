"""The ``havencore.*`` actions automations call."""

from __future__ import annotations

import voluptuous as vol
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import intent

from .const import DOMAIN

SERVICE_ASK = "ask"
ATTR_PROMPT = "prompt"
ATTR_AGENT = "agent_id"
ATTR_CONVERSATION_ID = "conversation_id"
ATTR_LANGUAGE = "language"

ASK_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_PROMPT): vol.All(cv.string, vol.Length(min=1)),
        vol.Optional(ATTR_AGENT): cv.entity_id,
        vol.Optional(ATTR_CONVERSATION_ID): cv.string,
        vol.Optional(ATTR_LANGUAGE): cv.string,
    }
)


def _havencore_agents(hass: HomeAssistant) -> list[str]:
    """Entity ids of the loaded HavenCore conversation agents."""
    registry = er.async_get(hass)
    loaded = {
        entry.entry_id
        for entry in hass.config_entries.async_entries(DOMAIN, include_disabled=False)
        if entry.state is ConfigEntryState.LOADED
    }
    return [
        entity.entity_id
        for entity in registry.entities.values()
        if entity.platform == DOMAIN
        and entity.domain == "conversation"
        and entity.config_entry_id in loaded
        and hass.states.get(entity.entity_id) is not None
    ]


async def _async_ask(call: ServiceCall) -> ServiceResponse:
    """Sends a prompt to a HavenCore agent and returns its answer."""
    hass = call.hass
    agents = _havencore_agents(hass)
    agent_id: str | None = call.data.get(ATTR_AGENT)
    if agent_id is None:
        if not agents:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_agent")
        agent_id = agents[0]
    elif agent_id not in agents:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="unknown_agent", translation_placeholders={"agent": agent_id}
        )
    result = await conversation.async_converse(
        hass,
        text=call.data[ATTR_PROMPT],
        conversation_id=call.data.get(ATTR_CONVERSATION_ID),
        context=call.context,
        language=call.data.get(ATTR_LANGUAGE),
        agent_id=agent_id,
    )
    speech = result.response.speech.get("plain", {}).get("speech", "")
    if result.response.response_type is intent.IntentResponseType.ERROR:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="ask_failed", translation_placeholders={"message": speech}
        )
    return {"response": speech, "conversation_id": result.conversation_id, ATTR_ENTITY_ID: agent_id}


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Registers every HavenCore action."""
    hass.services.async_register(
        DOMAIN, SERVICE_ASK, _async_ask, schema=ASK_SCHEMA, supports_response=SupportsResponse.ONLY
    )
