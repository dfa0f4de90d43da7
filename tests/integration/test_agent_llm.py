"""The agent and the AI Task on the real backend LLM (the packaged Qwen2.5 0.5B through llama.cpp)."""

from __future__ import annotations

import voluptuous as vol
from homeassistant.components import ai_task, conversation
from homeassistant.components.conversation.chat_log import DATA_CHAT_LOGS
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.havencore.const import CONF_PREFER_LOCAL_INTENTS, DOMAIN, SUBENTRY_CONVERSATION
from tests.backend_process import RunningBackend
from tests.integration.conftest import API_KEY
from tests.integration.home import async_set_up_home

AGENT = "conversation.havencore_conversation"


async def _set_up(hass: HomeAssistant, backend: RunningBackend, *, local_first: bool = True) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    if not local_first:
        subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
        hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_PREFER_LOCAL_INTENTS: False}
        )
        await hass.async_block_till_done()
    assert hass.states.get(AGENT) is not None


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_llm_turns_on_the_light_through_assist_tools(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await _set_up(hass, backend, local_first=False)

    result = await conversation.async_converse(hass, "Turn on the kitchen light.", None, Context(), agent_id=AGENT)

    assert result.response.response_type is not intent.IntentResponseType.ERROR, result.response.speech
    assert _state(hass, "light.kitchen_light") == "on"
    # Whatever the small model writes after the tool ran, the user never hears raw JSON.
    assert not result.response.speech["plain"]["speech"].lstrip().startswith(("{", "["))
    assert _state(hass, "light.bedroom_light") == "off"


async def test_unexposed_light_is_never_touched(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    await async_set_up_home(hass, unexposed=("bedroom",))
    await _set_up(hass, backend, local_first=False)

    await conversation.async_converse(hass, "Turn on the bedroom light.", None, Context(), agent_id=AGENT)

    assert _state(hass, "light.bedroom_light") == "off"


async def test_model_hears_the_user_and_the_satellites_area(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await _set_up(hass, backend, local_first=False)
    satellite_entry = MockConfigEntry(domain="test")
    satellite_entry.add_to_hass(hass)
    kitchen = ar.async_get(hass).async_get_area_by_name("Kitchen")
    assert kitchen is not None
    satellite = dr.async_get(hass).async_get_or_create(
        config_entry_id=satellite_entry.entry_id, identifiers={("test", "satellite")}, name="Satellite"
    )
    dr.async_get(hass).async_update_device(satellite.id, area_id=kitchen.id)

    result = await conversation.async_converse(
        hass, "What can you do?", None, Context(user_id=hass_admin_user.id), agent_id=AGENT, device_id=satellite.id
    )

    assert result.conversation_id is not None
    system = hass.data[DATA_CHAT_LOGS][result.conversation_id].content[0]
    assert isinstance(system, conversation.SystemContent)
    system_prompt = system.content
    assert hass_admin_user.name is not None
    assert f"You are talking to {hass_admin_user.name}" in system_prompt
    assert "You are in area Kitchen" in system_prompt


async def test_ai_task_returns_data_in_the_requested_structure(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await _set_up(hass, backend)
    assert await async_setup_component(hass, "ai_task", {})

    result = await ai_task.async_generate_data(
        hass,
        task_name="colour",
        entity_id="ai_task.havencore_ai_task",
        instructions="Name one colour of the rainbow and how many letters it has.",
        structure=vol.Schema({vol.Required("colour"): str, vol.Required("letters"): int}),
    )

    assert isinstance(result.data, dict)
    assert isinstance(result.data["colour"], str)
    assert isinstance(result.data["letters"], int)


async def test_ai_task_plain_text(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    await _set_up(hass, backend)
    assert await async_setup_component(hass, "ai_task", {})

    result = await ai_task.async_generate_data(
        hass, task_name="greeting", entity_id="ai_task.havencore_ai_task", instructions="Say hello in one word."
    )

    assert isinstance(result.data, str)
    assert result.data.strip()
