"""The agent and the AI Task on the real backend LLM (the packaged Qwen2.5 0.5B through llama.cpp)."""

from __future__ import annotations

import voluptuous as vol
from homeassistant.components import ai_task, conversation
from homeassistant.components.conversation.trace import async_clear_traces
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component

from custom_components.havencore.const import CONF_DIRECT_ACTION_REPLIES, CONF_TEMPERATURE
from tests.backend_process import RunningBackend
from tests.integration.agent import AGENT, async_set_up_agent, traced_requests
from tests.integration.home import async_set_up_home


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_llm_turns_on_the_light_through_assist_tools(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    # Greedy, as a sampled first step may be a different (bent, then refused) call; see test_action_check.
    await async_set_up_agent(hass, backend, local_first=False, extra={CONF_TEMPERATURE: 0})

    result = await conversation.async_converse(hass, "Turn on the kitchen light.", None, Context(), agent_id=AGENT)

    assert result.response.response_type is not intent.IntentResponseType.ERROR, result.response.speech
    assert _state(hass, "light.kitchen_light") == "on"
    # Whatever the small model writes after the tool ran, the user never hears raw JSON.
    assert not result.response.speech["plain"]["speech"].lstrip().startswith(("{", "["))
    assert _state(hass, "light.bedroom_light") == "off"


async def test_a_confirmed_action_is_answered_without_a_second_model_step(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend, local_first=False, extra={CONF_TEMPERATURE: 0})
    async_clear_traces()

    result = await conversation.async_converse(hass, "Turn on the kitchen light.", None, Context(), agent_id=AGENT)

    assert _state(hass, "light.kitchen_light") == "on"
    assert len(traced_requests()) == 1
    assert result.response.speech["plain"]["speech"] == "Done: Kitchen light (On)."


async def test_the_model_may_word_the_reply_after_an_action_when_asked_to(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(
        hass, backend, local_first=False, extra={CONF_TEMPERATURE: 0, CONF_DIRECT_ACTION_REPLIES: False}
    )
    async_clear_traces()

    await conversation.async_converse(hass, "Turn on the kitchen light.", None, Context(), agent_id=AGENT)

    assert _state(hass, "light.kitchen_light") == "on"
    requests = traced_requests()
    # The tool result goes back to the model, which words the reply (a small model may make one more call first).
    assert len(requests) >= 2
    assert requests[1]["messages"][-1]["role"] == "tool"


async def test_unexposed_light_is_never_touched(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    await async_set_up_home(hass, unexposed=("bedroom",))
    await async_set_up_agent(hass, backend, local_first=False)

    await conversation.async_converse(hass, "Turn on the bedroom light.", None, Context(), agent_id=AGENT)

    assert _state(hass, "light.bedroom_light") == "off"


async def test_ai_task_returns_data_in_the_requested_structure(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_agent(hass, backend)
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
    await async_set_up_agent(hass, backend)
    assert await async_setup_component(hass, "ai_task", {})

    result = await ai_task.async_generate_data(
        hass, task_name="greeting", entity_id="ai_task.havencore_ai_task", instructions="Say hello in one word."
    )

    assert isinstance(result.data, str)
    assert result.data.strip()
