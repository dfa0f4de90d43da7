"""The prompt stays cached: the requests the agent sends to the real backend start with the same bytes every turn."""

from __future__ import annotations

import datetime
import json
from typing import Any

from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_clear_traces
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import llm
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.havencore.const import CONF_MAX_TOKENS, NAMED_STATES_HEADER
from custom_components.havencore.prompt_layout import (
    PROMPT_MARKERS,
    TOOL_RULES,
    HomeContext,
    build_layout,
    split_api_prompt,
)
from custom_components.havencore.vocabulary import ExposedEntity
from tests.backend_process import RunningBackend
from tests.integration.agent import AGENT, async_set_up_agent, traced_requests
from tests.integration.home import async_set_up_home

# Assist's prompt as HA writes it, up to its entity overview.
ASSIST_PROMPT = f"When controlling Home Assistant always call the intent tools.\n{llm.DYNAMIC_CONTEXT_PROMPT}\n"
KITCHEN_LIGHT = ExposedEntity("light.kitchen_light", ("Kitchen light",), "light", ("Kitchen",), (), None)


def _prefix(request: dict[str, Any]) -> str:
    """What the engine can keep cached: the system message and the tools, as the bytes sent."""
    return json.dumps([request["messages"][0], request["tools"]])


async def test_turns_and_conversations_share_the_same_prefix_bytes(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend, local_first=False, extra={CONF_MAX_TOKENS: 24})
    satellite_entry = MockConfigEntry(domain="test")
    satellite_entry.add_to_hass(hass)
    kitchen = ar.async_get(hass).async_get_area_by_name("Kitchen")
    assert kitchen is not None
    satellite = dr.async_get(hass).async_get_or_create(
        config_entry_id=satellite_entry.entry_id, identifiers={("test", "satellite")}, name="Satellite"
    )
    dr.async_get(hass).async_update_device(satellite.id, area_id=kitchen.id)
    async_clear_traces()

    first = await conversation.async_converse(hass, "Tell me a joke.", None, Context(), agent_id=AGENT)
    await conversation.async_converse(hass, "Another one.", first.conversation_id, Context(), agent_id=AGENT)
    # A new conversation, by a known user, from a satellite in the kitchen.
    await conversation.async_converse(
        hass, "Tell me a joke.", None, Context(user_id=hass_admin_user.id), agent_id=AGENT, device_id=satellite.id
    )

    requests = traced_requests()
    assert len(requests) >= 3
    assert len({_prefix(request) for request in requests}) == 1
    system = requests[0]["messages"][0]["content"]
    assert "Kitchen light" in system  # the static entity overview
    assert TOOL_RULES["HassLightSet"] in system  # Assist offers the light tool for the exposed lights
    assert "You are talking to" not in system
    assert "You are in area" not in system
    assert "Current time" not in system
    # What changes sits right before the latest user message.
    last = requests[-1]["messages"]
    assert last[-1] == {"role": "user", "content": "Tell me a joke."}
    assert last[-2]["role"] == "system"
    assert hass_admin_user.name is not None
    assert f"You are talking to {hass_admin_user.name}." in last[-2]["content"]
    assert "You are in area Kitchen" in last[-2]["content"]
    # The second turn repeats the first turn's messages unchanged after the prefix, its context moved on.
    second = next(request for request in requests if request["messages"][-1]["content"] == "Another one.")
    assert second["messages"][1]["content"] == "Tell me a joke."
    assert second["messages"][-2]["role"] == "system"


def test_a_new_time_changes_only_the_tail() -> None:
    api_prompt = (
        "When controlling Home Assistant always call the intent tools.\n"
        "You are in area Kitchen and all generic commands like 'turn on the lights' should target this area.\n"
        f"{llm.DYNAMIC_CONTEXT_PROMPT}\nStatic Context: (HA's own overview, replaced)"
    )
    layouts = [
        build_layout(
            "Be brief.",
            api_prompt,
            HomeContext(listed=[KITCHEN_LIGHT]),
            datetime.datetime(2026, 1, 2, hour),
            "Ann",
            None,
        )
        for hour in (8, 9)
    ]

    assert layouts[0].system == layouts[1].system
    assert layouts[0].turn_context != layouts[1].turn_context
    # Who speaks and where stay ahead of the clock, inside what the engine can reuse from the previous turn.
    stable = layouts[0].turn_context.partition("Current time")[0]
    assert layouts[1].turn_context.startswith(stable)
    assert "You are talking to Ann." in stable
    assert "You are in area Kitchen" in stable
    assert layouts[1].turn_context.startswith("Today's date is 2026-01-02.\n")
    assert "\nCurrent time is 09:00:00." in layouts[1].turn_context
    assert "You are in area Kitchen" in layouts[1].turn_context
    assert "Kitchen" not in layouts[1].system.split("\n")[1]
    assert "- names: Kitchen light" in layouts[1].system
    assert "replaced" not in layouts[1].system


def test_a_tool_rule_comes_with_its_tool_after_the_api_rules() -> None:
    home = HomeContext(listed=[KITCHEN_LIGHT])
    now = datetime.datetime(2026, 1, 2, 8)

    with_light = build_layout("Be brief.", ASSIST_PROMPT, home, now, None, None, tool_names={"HassLightSet"})
    without = build_layout("Be brief.", ASSIST_PROMPT, home, now, None, None, tool_names={"HassTurnOn"})

    rule = TOOL_RULES["HassLightSet"]
    assert rule not in without.system
    assert with_light.system.index(llm.DYNAMIC_CONTEXT_PROMPT) < with_light.system.index(rule)
    assert with_light.system.index(rule) < with_light.system.index("- names: Kitchen light")
    # Only an API's rules get tool rules: the instructions stand alone without one.
    assert rule not in build_layout("Be brief.", None, home, now, None, None, tool_names={"HassLightSet"}).system


def test_each_prompt_marker_is_a_line_of_the_prompt() -> None:
    # A reply with a marker is taken for an echo of the prompt: each must be what the model really reads.
    layout = build_layout(
        "Be brief.",
        ASSIST_PROMPT,
        HomeContext(listed=[KITCHEN_LIGHT]),
        datetime.datetime(2026, 1, 2, 8),
        None,
        None,
        live_states=f"{NAMED_STATES_HEADER}\n- Kitchen light: on",
    )

    prompt = " ".join(f"{layout.system}\n{layout.turn_context}".split())
    assert [marker for marker in PROMPT_MARKERS if marker not in prompt] == []


def test_layout_without_assist_keeps_other_prompts_whole_and_lists_nothing() -> None:
    now = datetime.datetime(2026, 1, 2, 8)
    retrieved = HomeContext(areas="Areas: Kitchen", retrieved=[KITCHEN_LIGHT])
    other_api = build_layout("Be brief.", "Use the weather tool.", retrieved, now, None, "x")
    no_api = build_layout("Be brief.", None, retrieved, now, None, None)

    assert other_api.system == "Be brief.\nUse the weather tool."
    assert other_api.turn_context == "Today's date is 2026-01-02.\nx\nCurrent time is 08:00:00."
    assert "Static Context" not in other_api.turn_context
    assert no_api.system == "Be brief."
    assert split_api_prompt(llm.NO_ENTITIES_PROMPT).lists_entities is False
    history = [{"role": "user", "content": "hi"}]
    assert [message["role"] for message in no_api.messages(history)] == ["system", "system", "user"]


def test_retrieved_entities_go_to_the_tail() -> None:
    api_prompt = f"Rules.\n{llm.DYNAMIC_CONTEXT_PROMPT}"
    home = HomeContext(areas="Areas of this home: Kitchen", retrieved=[KITCHEN_LIGHT])
    layout = build_layout("Be brief.", api_prompt, home, datetime.datetime(2026, 1, 2), None, None)

    assert "Static Context" not in layout.system
    assert layout.system.endswith("\nAreas of this home: Kitchen")
    assert "- names: Kitchen light" in layout.turn_context


def test_the_lean_context_sheds_memory_and_live_states_only() -> None:
    api_prompt = f"Rules.\n{llm.DYNAMIC_CONTEXT_PROMPT}"
    layout = build_layout(
        "Be brief.",
        api_prompt,
        HomeContext(listed=[KITCHEN_LIGHT]),
        datetime.datetime(2026, 1, 2),
        "Ann",
        "Speak French.",
        memory="- Ann likes tea",
        live_states="Live: kitchen on",
    )
    history = [{"role": "user", "content": "hi"}]

    assert "Ann likes tea" in layout.turn_context
    assert "Live: kitchen on" in layout.turn_context
    lean = layout.messages(history, lean=True)[-2]["content"]
    assert "Ann likes tea" not in lean
    assert "Live: kitchen on" not in lean
    assert "Speak French." in lean
    assert "You are talking to Ann." in lean
    assert layout.messages(history, lean=True)[0] == layout.messages(history)[0]


async def test_the_live_states_of_the_devices_a_request_names_come_with_it(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend, local_first=False, extra={CONF_MAX_TOKENS: 24})
    await hass.services.async_call("light", "turn_on", {"entity_id": "light.kitchen_light"}, blocking=True)
    async_clear_traces()

    await conversation.async_converse(hass, "How bright is the kitchen light?", None, Context(), agent_id=AGENT)

    context = traced_requests()[0]["messages"][-2]["content"]
    states = context.split(NAMED_STATES_HEADER, 1)[1]
    assert "Kitchen light" in states
    assert "state: 'on'" in states
    assert "Bedroom light" not in states
    # Only the tail carries them: the cached prefix stays the same.
    assert NAMED_STATES_HEADER not in traced_requests()[0]["messages"][0]["content"]


async def test_a_command_comes_without_live_states(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend, local_first=False, extra={CONF_MAX_TOKENS: 24})
    async_clear_traces()

    await conversation.async_converse(hass, "Turn on the kitchen light.", None, Context(), agent_id=AGENT)

    # Acting needs the names the system message lists; the states would only cost prefill.
    assert NAMED_STATES_HEADER not in traced_requests()[0]["messages"][-2]["content"]
