"""Big homes: when the exposed entities do not fit the home context's share of the window, only those relevant to the
request reach the prompt and the grammar, found with the real backend's embeddings model (or by their words without
one), and the prompt stays under 1.5k tokens with 500 exposed entities."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_clear_traces, async_get_traces
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component

from custom_components.havencore.api import HavenCoreClient, HavenCoreResponseError
from custom_components.havencore.const import CONF_MAX_TOKENS, DOMAIN
from custom_components.havencore.entity_retrieval import EntityIndex, lexical_rank
from custom_components.havencore.live_context import with_retrieved_live_context
from custom_components.havencore.prompt_layout import AREAS_HEADER
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


def placed_rooms(count: int) -> list[tuple[str, str]]:
    return list(itertools.product(ROOMS, DEVICES))[:count]


async def _set_up_big_home(hass: HomeAssistant, count: int) -> None:
    """``count`` exposed input booleans named '<room> <device>' in the room's area, the target among them."""
    placed = placed_rooms(count)
    assert ("Garage", "aquarium pump") in placed
    config = {f"switch_{index}": {"name": f"{room} {device}"} for index, (room, device) in enumerate(placed)}
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": config})
    await hass.async_block_till_done()
    areas, registry = ar.async_get(hass), er.async_get(hass)
    for key, (room, _device) in zip(config, placed, strict=True):
        area = areas.async_get_area_by_name(room) or areas.async_create(room)
        registry.async_update_entity(f"input_boolean.{key}", area_id=area.id)
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


def _allowed_names(request: dict[str, Any]) -> list[str]:
    """The names the grammar allows; the prompt's tools leave the slot open."""
    tool = next(tool for tool in request["tools"] if tool["function"]["name"] == "HassTurnOn")
    assert "enum" not in tool["function"]["parameters"]["properties"]["name"]
    names: list[str] = request["tool_argument_values"]["name"]
    return names


@pytest.mark.parametrize(("count", "retrieves"), [(50, False), (500, True)])
async def test_home_context_is_chosen_by_its_measured_size(
    hass_with_core: HomeAssistant, backend: RunningBackend, count: int, retrieves: bool
) -> None:
    hass = hass_with_core
    await _set_up_big_home(hass, count)
    await async_set_up_agent(hass, backend, local_first=False, extra={CONF_MAX_TOKENS: 16})
    async_clear_traces()

    await conversation.async_converse(hass, "Turn on the garage aquarium pump.", None, Context(), agent_id=AGENT)

    request = _first_request()
    system, context = request["messages"][0]["content"], request["messages"][-2]["content"]
    names = _allowed_names(request)
    assert TARGET in names
    if retrieves:
        assert TARGET in context
        assert "Static Context" not in system
        # Areas are always named, in the part of the prompt that stays cached.
        assert AREAS_HEADER in system
        assert all(room in system for room, _device in placed_rooms(count))
        assert len(names) <= 13
    else:
        assert TARGET in system
        assert len(names) == count
    tokens = _prompt_tokens(backend, request)
    print(f"{count} exposed entities, retrieval {'on' if retrieves else 'off'}: {tokens} prompt tokens")
    _status, info = http_json("GET", f"{backend.url}/v1/havencore/info", API_KEY)
    assert tokens + 16 <= int(info.get("chat_context_length") or 4096)
    if retrieves:
        assert tokens <= 1500


async def test_scripts_are_offered_with_the_entities_the_prompt_names(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await _set_up_big_home(hass, 500)
    # Each exposed script is a tool of its own: 60 of them alone would fill most of the window.
    scripts = {f"routine_{index}": {"alias": f"{ROOMS[index % len(ROOMS)]} routine {index}"} for index in range(60)}
    assert await async_setup_component(
        hass, "script", {"script": {key: {**value, "sequence": []} for key, value in scripts.items()}}
    )
    await hass.async_block_till_done()
    for key in scripts:
        async_expose_entity(hass, "conversation", f"script.{key}", True)
    await async_set_up_agent(hass, backend, local_first=False, extra={CONF_MAX_TOKENS: 16})
    async_clear_traces()

    await conversation.async_converse(hass, "Run the garage routine 0.", None, Context(), agent_id=AGENT)

    request = _first_request()
    offered = [tool["function"]["name"] for tool in request["tools"] if tool["function"]["name"] in scripts]
    assert "routine_0" in offered
    assert len(offered) <= 13
    _status, info = http_json("GET", f"{backend.url}/v1/havencore/info", API_KEY)
    assert _prompt_tokens(backend, request) + 16 <= int(info.get("chat_context_length") or 4096)


async def test_index_ranks_entities_by_meaning_and_follows_renames(
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

    assert (await index.async_rank([pump, lamp, kettle], "feed the fish tank"))[0] == 0
    assert (await index.async_rank([pump, lamp, kettle], "put the water on for tea"))[0] == 2
    # Named outright: first whatever the similarity says.
    assert (await index.async_rank([pump, lamp, kettle], "make tea and switch off the desk lamp"))[0] == 1
    renamed = ExposedEntity("switch.pump", ("Pond filter",), "switch", ("Garden",), (), None)
    assert await index.async_rank([renamed, lamp], "pond filter") == [0, 1]
    assert await index.async_rank([], "anything") == []

    with pytest.raises(HavenCoreResponseError):
        await EntityIndex(client, "no-such-model").async_rank([pump], "fish")


def test_without_embeddings_shared_words_rank() -> None:
    pump = ExposedEntity("switch.pump", ("Aquarium pump",), "switch", ("Garage",), (), None)
    lamp = ExposedEntity("light.lamp", ("Desk lamp",), "light", ("Office",), (), None)
    kettle = ExposedEntity("switch.kettle", ("Kettle",), "switch", ("Kitchen",), (), None)
    assert lexical_rank([pump, lamp, kettle], "is the office lamp on")[0] == 1
    assert lexical_rank([pump, lamp, kettle], "switch on the kettle") == [2, 0, 1]


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
