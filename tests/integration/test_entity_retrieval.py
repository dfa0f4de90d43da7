"""Big homes: only the entities relevant to the request reach the prompt and the tools, found with the real
backend's embeddings model, and the prompt stays under 1.5k tokens with 500 exposed entities."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_clear_traces, async_get_traces
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component

from custom_components.havencore.api import HavenCoreClient, HavenCoreResponseError
from custom_components.havencore.const import CONF_ENTITY_RETRIEVAL_THRESHOLD, CONF_MAX_TOKENS, DOMAIN
from custom_components.havencore.entity_retrieval import EntityIndex
from custom_components.havencore.live_context import with_retrieved_live_context
from custom_components.havencore.vocabulary import ExposedEntity, async_exposed_entities
from tests.backend_process import RunningBackend, http_json
from tests.integration.agent import AGENT, async_set_up_agent
from tests.integration.conftest import API_KEY

ROOMS = (
    "Garage", "Attic", "Cellar", "Office", "Nursery", "Laundry", "Pantry", "Hallway", "Porch", "Studio",
    "Library", "Gym", "Sauna", "Workshop", "Greenhouse", "Balcony", "Terrace", "Guest room", "Playroom", "Den",
    "Loft", "Shed", "Conservatory", "Boot room", "Wine cellar",
)  # fmt: skip
DEVICES = (
    "aquarium pump", "dehumidifier", "heated floor", "ceiling fan", "desk lamp", "fairy lights", "towel rail",
    "sprinkler", "coffee maker", "kettle", "humidifier", "air purifier", "radio", "projector", "space heater",
    "salt lamp", "water heater", "window blinds motor", "doorbell chime", "night light",
)  # fmt: skip
TARGET = "Garage aquarium pump"


async def _set_up_big_home(hass: HomeAssistant, count: int) -> None:
    """``count`` exposed input booleans named '<room> <device>', the target among them."""
    names = [f"{room} {device}" for room, device in itertools.product(ROOMS, DEVICES)][:count]
    assert TARGET in names
    config = {f"switch_{index}": {"name": name} for index, name in enumerate(names)}
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": config})
    await hass.async_block_till_done()
    for key in config:
        async_expose_entity(hass, "conversation", f"input_boolean.{key}", True)


def _first_request() -> dict[str, Any]:
    requests = [
        event["data"]["havencore_request"]
        for trace in async_get_traces()
        for event in trace.as_dict()["events"]
        if "havencore_request" in event.get("data", {})
    ]
    assert requests
    first: dict[str, Any] = requests[0]
    return first


def _prompt_tokens(backend: RunningBackend, request: dict[str, Any]) -> int:
    """The prompt tokens the backend's engine counts for this exact request (answered with one token)."""
    status, body = http_json(
        "POST",
        f"{backend.url}/v1/chat/completions",
        API_KEY,
        {**request, "max_tokens": 1, "stream": False},
    )
    assert status == 200, body
    tokens: int = body["usage"]["prompt_tokens"]
    return tokens


def _name_enum(request: dict[str, Any]) -> list[str]:
    tool = next(tool for tool in request["tools"] if tool["function"]["name"] == "HassTurnOn")
    names: list[str] = tool["function"]["parameters"]["properties"]["name"]["enum"]
    return names


@pytest.mark.parametrize(("count", "threshold", "retrieves"), [(50, 0, False), (500, 40, True)])
async def test_prompt_stays_small_as_the_home_grows(
    hass_with_core: HomeAssistant, backend: RunningBackend, count: int, threshold: int, retrieves: bool
) -> None:
    hass = hass_with_core
    await _set_up_big_home(hass, count)
    await async_set_up_agent(
        hass, backend, local_first=False, extra={CONF_MAX_TOKENS: 16, CONF_ENTITY_RETRIEVAL_THRESHOLD: threshold}
    )
    async_clear_traces()

    await conversation.async_converse(hass, "Turn on the garage aquarium pump.", None, Context(), agent_id=AGENT)

    request = _first_request()
    system, context = request["messages"][0]["content"], request["messages"][-2]["content"]
    names = _name_enum(request)
    assert TARGET in names
    if retrieves:
        assert TARGET in context
        assert "Static Context" not in system
        assert len(names) <= 13
    else:
        assert TARGET in system
        assert len(names) == count
    tokens = _prompt_tokens(backend, request)
    print(f"{count} exposed entities, retrieval {'on' if retrieves else 'off'}: {tokens} prompt tokens")
    if retrieves:
        assert tokens <= 1500


async def test_index_finds_entities_by_meaning_and_follows_renames(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    assert await async_setup_component(hass, DOMAIN, {})
    client = HavenCoreClient(async_get_clientsession(hass), backend.url, API_KEY)
    model = (await client.async_get_info()).embeddings_model
    assert model
    index = EntityIndex(client, model)
    pump = ExposedEntity("switch.pump", ("Aquarium pump",), "switch", ("Garage",), (), None)
    lamp = ExposedEntity("light.lamp", ("Desk lamp",), "light", ("Office",), (), None)
    kettle = ExposedEntity("switch.kettle", ("Kettle", "Tea maker"), "switch", ("Kitchen",), (), None)

    assert await index.async_select([pump, lamp, kettle], "feed the fish tank", 1) == [pump]
    # Named outright: kept whatever the ranking says.
    assert lamp in await index.async_select([pump, lamp, kettle], "make tea and switch off the desk lamp", 1)
    renamed = ExposedEntity("switch.pump", ("Pond filter",), "switch", ("Garden",), (), None)
    assert await index.async_select([renamed, lamp], "pond filter", 1) == [renamed]

    with pytest.raises(HavenCoreResponseError):
        await EntityIndex(client, "no-such-model").async_select([pump], "fish", 1)


async def test_live_context_answers_only_for_the_retrieved_entities(hass_with_core: HomeAssistant) -> None:
    hass = hass_with_core
    await _set_up_big_home(hass, 60)
    assert await async_setup_component(hass, "conversation", {})
    llm_context = llm.LLMContext(
        platform=DOMAIN, context=Context(), language="en", assistant="conversation", device_id=None
    )
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context)
    pump = next(entity for entity in async_exposed_entities(hass) if entity.names == (TARGET,))

    limited = with_retrieved_live_context(api, [pump])

    assert [tool.name for tool in limited.tools] == [tool.name for tool in api.tools]
    result = await limited.async_call_tool(llm.ToolInput(tool_name="GetLiveContext", tool_args={}))
    assert result["success"] is True
    assert TARGET in str(result["result"])
    assert "Garage dehumidifier" not in str(result["result"])
    full = await api.async_call_tool(llm.ToolInput(tool_name="GetLiveContext", tool_args={}))
    assert "Garage dehumidifier" in str(full["result"])
