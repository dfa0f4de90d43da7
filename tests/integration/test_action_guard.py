"""An action runs only on a target the request mentions: a small model's valid but wrong pick is refused before
anything switches, and HA's own sentence matching tells which names the user meant that are not exposed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hassil.intents import Intent, IntentData
from hassil.models import UnmatchedTextEntity
from hassil.recognize import RecognizeResult
from homeassistant.components import conversation
from homeassistant.components.conversation.default_agent import METADATA_FUZZY_MATCH
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import chat_session, llm
from homeassistant.setup import async_setup_component

from custom_components.havencore.action_guard import (
    INVALID_ARGUMENTS_ERROR,
    NOT_REQUESTED_ERROR,
    RequestedTargets,
    requested_targets,
    with_action_guard,
    words,
)
from custom_components.havencore.intent_match import UnknownNames, async_recognize, reads_as_command, unknown_names
from custom_components.havencore.vocabulary import ExposedEntity, async_exposed_entities
from tests.integration.home import async_set_up_home


@pytest.fixture
async def home(hass_with_core: HomeAssistant) -> HomeAssistant:
    """Kitchen and bedroom lights (both exposed) and a garage area with nothing exposed in it."""
    hass = hass_with_core
    assert await async_setup_component(hass, "conversation", {})
    await async_set_up_home(hass)
    ar.async_get(hass).async_create("Garage")
    return hass


def _request(text: str) -> conversation.ConversationInput:
    """A typed English request with no user or device."""
    return conversation.ConversationInput(
        text=text,
        context=Context(),
        conversation_id=None,
        device_id=None,
        satellite_id=None,
        language="en",
        agent_id="conversation.havencore",
    )


def _targets(hass: HomeAssistant, request: str, **kwargs: Any) -> RequestedTargets:
    return RequestedTargets.of(hass, request, async_exposed_entities(hass), **kwargs)


@pytest.mark.parametrize(
    ("request_text", "arguments"),
    [
        ("turn on the kitchen light", {"name": "Kitchen light"}),
        ("it's too dark in the kitchen", {"name": "Kitchen light"}),
        ("make the bedroom brighter", {"area": "Bedroom", "domain": ["light"]}),
        ("turn off all the lights", {"domain": ["light"]}),
        ("kitchen and bedroom off", {"name": "Bedroom light"}),
        # "garage" says the kind of door here, though the home has a Garage area.
        ("open the garage door", {"device_class": ["garage"], "domain": ["cover"]}),
    ],
)
async def test_a_target_the_request_mentions_may_act(
    home: HomeAssistant, request_text: str, arguments: dict[str, Any]
) -> None:
    assert _targets(home, request_text).refusal(arguments) is None


@pytest.mark.parametrize(
    ("request_text", "arguments", "reason"),
    [
        # "light" is in both lights' names, so it says nothing about which one.
        ("turn on the garage light", {"name": "Kitchen light"}, "did not mention Kitchen light"),
        ("turn on the bedroom light", {"name": "Kitchen light"}, "did not mention Kitchen light"),
        ("switch off the lights in the kitchen", {"area": "Bedroom"}, "did not mention the area Bedroom"),
        # Every light, where the user named one room.
        ("turn off the lights in the bedroom", {"domain": ["light"]}, "asked about bedroom"),
        ("open the garage door", {"area": "Kitchen"}, "did not mention the area Kitchen"),
        ("turn on the garage light", {"domain": ["light"]}, "asked about garage"),
        ("start the vacuum", {"domain": ["light"]}, "did not ask about light"),
        ("it's too hot in here", {"device_class": ["window"], "domain": ["cover"]}, "did not ask about cover"),
    ],
)
async def test_a_target_the_request_does_not_mention_is_refused(
    home: HomeAssistant, request_text: str, arguments: dict[str, Any], reason: str
) -> None:
    refusal = _targets(home, request_text).refusal(arguments)

    assert refusal is not None
    assert reason in refusal


async def test_a_call_naming_no_target_needs_the_kind_of_device_asked_for(home: HomeAssistant) -> None:
    # With no target HA acts on every device the intent applies to: a fan's speed on every fan.
    assert "did not ask about fan" in (_targets(home, "dim the lamp a bit").refusal({"percentage": 30}, {"fan"}) or "")
    assert _targets(home, "set the lights to half brightness").refusal({"brightness": 50}, {"light"}) is None
    # Only a kind of device: the request must say it too.
    assert "did not ask about blind" in (
        _targets(home, "dim the lamp a bit").refusal({"device_class": ["blind"]}) or ""
    )
    assert _targets(home, "open the blinds").refusal({"device_class": ["blind"]}) is None


def test_an_everyday_word_picks_the_only_device_of_its_kind() -> None:
    thermostat = ExposedEntity("climate.hall", ("Hall thermostat",), "climate", ("Hall",), (), None)
    lamps = [
        ExposedEntity(f"light.{key}", (f"{key.title()} light",), "light", (key.title(),), (), None)
        for key in ("kitchen", "bedroom")
    ]
    targets = RequestedTargets(
        request=frozenset(words("turn up the heating a bit")),
        context=frozenset(),
        entities=(thermostat, *lamps),
        area_words=frozenset({"hall", "kitchen", "bedroom"}),
        common_words=frozenset({"light"}),
        single_domains=frozenset({"climate"}),
    )

    assert targets.refusal({"name": "Hall thermostat"}) is None
    # "lamp" does not tell two lights apart.
    lamp = replace(targets, request=frozenset(words("switch on the lamp")))
    assert lamp.refusal({"name": "Kitchen light"}) is not None


async def test_a_follow_up_may_act_on_what_the_previous_exchange_named(home: HomeAssistant) -> None:
    targets = _targets(home, "turn it off again", earlier=["turn on the kitchen light", "Turned on the light"])

    assert targets.refusal({"name": "Kitchen light"}) is None
    assert targets.refusal({"name": "Bedroom light"}) is not None


async def test_a_request_made_in_a_room_may_act_there(home: HomeAssistant) -> None:
    assert _targets(home, "lights on please", satellite_area="Bedroom").refusal({"area": "Bedroom"}) is None
    # The satellite's room never counts as a room the user named instead of the target.
    assert _targets(home, "kitchen light on", satellite_area="Bedroom").refusal({"name": "Kitchen light"}) is None


async def test_names_ha_knows_are_not_exposed_refuse_any_other_target(home: HomeAssistant) -> None:
    hass = home
    chat_log_input = _request("turn on the pantry light")
    with (
        chat_session.async_get_chat_session(hass) as session,
        conversation.async_get_chat_log(hass, session, chat_log_input) as chat_log,
    ):
        entities = async_exposed_entities(hass)
        unknown = unknown_names(await async_recognize(hass, chat_log_input), entities)
        targets = requested_targets(hass, chat_log_input, chat_log, entities, unknown.names)

    # HA reads it as the lights of an area called "pantry", which it does not know.
    assert unknown.names == targets.unknown == ("pantry",)
    refusal = targets.refusal({"domain": ["light"]})
    assert refusal is not None
    assert "pantry" in refusal
    assert targets.refusal({"name": "Kitchen light"}) is not None


@pytest.mark.parametrize(
    "text",
    [
        # A phrase an open slot swallowed.
        "tell me a joke about sheep",
        # An everyday word for a device: the model may know which one is meant.
        "turn off the heating",
    ],
)
async def test_what_an_open_name_slot_holds_is_not_unknown(home: HomeAssistant, text: str) -> None:
    unknown = unknown_names(await async_recognize(home, _request(text)), async_exposed_entities(home))

    assert unknown == UnknownNames()


async def test_part_of_an_exposed_name_is_not_unknown(home: HomeAssistant) -> None:
    chat = _request("turn on the kitchen")

    assert unknown_names(await async_recognize(home, chat), async_exposed_entities(home)) == UnknownNames()


async def test_a_refused_call_switches_nothing_and_an_allowed_one_runs(home: HomeAssistant) -> None:
    hass = home
    context = llm.LLMContext(
        platform="havencore", context=Context(), language="en", assistant="conversation", device_id=None
    )
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
    guarded = with_action_guard(api, _targets(hass, "turn on the garage light"))

    refused = await guarded.async_call_tool(llm.ToolInput("HassTurnOn", {"name": "Kitchen light"}))
    await hass.async_block_till_done()

    assert refused["error"] == NOT_REQUESTED_ERROR
    assert hass.states.get("light.kitchen_light").state == "off"  # type: ignore[union-attr]

    allowed = with_action_guard(api, _targets(hass, "turn on the kitchen light"))
    done = await allowed.async_call_tool(llm.ToolInput("HassTurnOn", {"name": "Kitchen light"}))
    await hass.async_block_till_done()

    assert done["response_type"] == "action_done"
    assert hass.states.get("light.kitchen_light").state == "on"  # type: ignore[union-attr]
    # No target: HA would dim every light, which a request about something else must not do.
    chit_chat = with_action_guard(api, _targets(hass, "what a lovely day"))
    untargeted = await chit_chat.async_call_tool(llm.ToolInput("HassLightSet", {"brightness": 10}))
    assert untargeted["error"] == NOT_REQUESTED_ERROR
    await hass.async_block_till_done()
    assert hass.states.get("light.bedroom_light").state == "off"  # type: ignore[union-attr]
    # A color and a color temperature together: refused before HA's light service would fail in a task.
    both = await allowed.async_call_tool(
        llm.ToolInput("HassLightSet", {"name": "Kitchen light", "color": "blue", "temperature": 3000})
    )
    assert both["error"] == INVALID_ARGUMENTS_ERROR
    # Tools that only read are passed through untouched, and the schema the model sees does not change.
    assert [tool.name for tool in guarded.tools] == [tool.name for tool in api.tools]
    assert all(
        guarded_tool.parameters is tool.parameters for guarded_tool, tool in zip(guarded.tools, api.tools, strict=True)
    )


@pytest.mark.parametrize(
    ("intent_name", "metadata", "unmatched", "command"),
    [
        ("HassLightSet", None, [], True),
        ("HassGetState", None, [], False),
        # "open the blinds" where no exposed name is "blinds": still a command.
        ("HassTurnOn", None, [UnmatchedTextEntity(name="name", text="blinds", is_open=False)], True),
        # A guess of HA's fuzzy matching is not a command.
        ("HassLightSet", {METADATA_FUZZY_MATCH: True}, [], False),
        # HA's loosest stage reads "How bright is the kitchen light?" as a scene in an area "How bright is".
        ("HassTurnOn", None, [UnmatchedTextEntity(name="area", text="How bright is ", is_open=False)], False),
    ],
)
def test_only_hass_sentences_read_a_request_as_a_command(
    intent_name: str, metadata: dict[str, Any] | None, unmatched: list[UnmatchedTextEntity], command: bool
) -> None:
    result = RecognizeResult(
        intent=Intent(intent_name),
        intent_data=IntentData(sentence_texts=[]),
        intent_metadata=metadata,
        unmatched_entities_list=list(unmatched),
    )

    assert reads_as_command(result) is command
