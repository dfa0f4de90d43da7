"""HavenCore's memory LLM API: offered once while an entry is loaded, its tools acting for the calling user."""

from __future__ import annotations

from typing import Any

import pytest
import voluptuous as vol
from homeassistant.components import conversation
from homeassistant.components.conversation.chat_log import DATA_CHAT_LOGS
from homeassistant.const import CONF_API_KEY, CONF_LLM_HASS_API, CONF_URL
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent, llm
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.havencore.const import DOMAIN, MEMORY_LLM_API_ID, SUBENTRY_CONVERSATION
from tests.backend_process import RunningBackend
from tests.integration.agent_setup import AGENT, async_set_up_agent
from tests.integration.conftest import API_KEY
from tests.integration.test_memory_context import QUICK_LLM


def _api_ids(hass: HomeAssistant) -> list[str]:
    return [api.id for api in llm.async_get_apis(hass)]


async def _tools(hass: HomeAssistant, user_id: str | None) -> llm.APIInstance:
    context = llm.LLMContext(
        platform=DOMAIN, context=Context(user_id=user_id), language="en", assistant="conversation", device_id=None
    )
    return await llm.async_get_api(hass, MEMORY_LLM_API_ID, context)


async def _call(api: llm.APIInstance, tool: str, **args: Any) -> Any:
    return await api.async_call_tool(llm.ToolInput(tool_name=tool, tool_args=args))


async def test_api_is_offered_once_while_any_entry_is_loaded(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    entries = [MockConfigEntry(domain=DOMAIN, data={CONF_URL: backend.url, CONF_API_KEY: API_KEY}) for _ in range(2)]
    for entry in entries:
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert _api_ids(hass).count(MEMORY_LLM_API_ID) == 1

    assert await hass.config_entries.async_unload(entries[0].entry_id)
    assert MEMORY_LLM_API_ID in _api_ids(hass)
    assert await hass.config_entries.async_unload(entries[1].entry_id)
    assert MEMORY_LLM_API_ID not in _api_ids(hass)

    # And back with the next entry.
    await hass.config_entries.async_setup(entries[0].entry_id)
    assert MEMORY_LLM_API_ID in _api_ids(hass)


async def test_agent_options_offer_the_api_beside_assist(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    entry = await async_set_up_agent(hass, backend.url, API_KEY)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CONVERSATION), context={"source": "user"}
    )

    data_schema = result["data_schema"]
    assert data_schema is not None
    selector = next(value for key, value in data_schema.schema.items() if key == CONF_LLM_HASS_API)
    assert [option["value"] for option in selector.config["options"]] == [llm.LLM_API_ASSIST, MEMORY_LLM_API_ID]


async def test_remember_recall_forget_for_the_calling_user(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser, hass_read_only_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_agent(hass, backend.url, API_KEY)
    api = await _tools(hass, hass_admin_user.id)
    other = await _tools(hass, hass_read_only_user.id)

    remembered = (await _call(api, "remember", text="My bike is the red one in the shed.", kind="fact"))["remembered"]
    await _call(api, "remember", text="I like the bedroom at 19 degrees.", kind="preference")
    recalled = (await _call(api, "recall", query="Which bike is mine?"))["memories"]

    assert recalled[0]["memory_id"] == remembered["memory_id"]
    assert recalled[0]["text"] == "My bike is the red one in the shed."
    assert all("bedroom" not in memory["text"] for memory in recalled)  # below the relevance threshold
    # Another user neither finds nor forgets it.
    assert (await _call(other, "recall", query="Which bike is mine?"))["memories"] == []
    with pytest.raises(HomeAssistantError, match="no such memory"):
        await _call(other, "forget", memory_id=remembered["memory_id"])

    forgotten = (await _call(api, "forget", memory_id=remembered["memory_id"]))["forgotten"]
    assert forgotten["text"] == "My bike is the red one in the shed."
    assert (await _call(api, "recall", query="Which bike is mine?"))["memories"] == []

    assert (await _call(api, "forget", query="bedroom temperature"))["forgotten"]["kind"] == "preference"
    with pytest.raises(HomeAssistantError, match="no such memory"):
        await _call(api, "forget", query="bedroom temperature")
    with pytest.raises(HomeAssistantError, match="no such memory"):
        await _call(api, "forget", memory_id="not-a-memory-id")


async def test_tool_arguments_are_validated(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    await async_set_up_agent(hass, backend.url, API_KEY)
    api = await _tools(hass, None)

    with pytest.raises(vol.Invalid):
        await _call(api, "remember", text="")
    with pytest.raises(vol.Invalid):
        await _call(api, "remember", text="Hi", kind="gossip")
    with pytest.raises(vol.Invalid):
        await _call(api, "forget")


async def test_agent_with_assist_and_memory_offers_both_tool_sets(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_agent(
        hass, backend.url, API_KEY, **QUICK_LLM, **{CONF_LLM_HASS_API: [llm.LLM_API_ASSIST, MEMORY_LLM_API_ID]}
    )

    result = await conversation.async_converse(
        hass, "What do you remember about me?", None, Context(user_id=hass_admin_user.id), agent_id=AGENT
    )

    assert result.response.response_type is not intent.IntentResponseType.ERROR, result.response.speech
    chat_log = hass.data[DATA_CHAT_LOGS][result.conversation_id or ""]
    assert chat_log.llm_api is not None
    names = {tool.name for tool in chat_log.llm_api.tools}
    # HA namespaces merged APIs by the slug of their names.
    assert {"havencore-memory__remember", "havencore-memory__recall", "havencore-memory__forget"} <= names
    assert "assist__HassTurnOn" in names
