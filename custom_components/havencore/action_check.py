"""Checks that an action Home Assistant reported as done really happened, by waiting briefly for the targets' states.

HA's intent handlers call the service and report every matched entity as a success, even when the device ignores
the command (a dead bulb, a template light whose action does nothing). The states tell the truth.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback, split_entity_id
from homeassistant.helpers import intent
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util.json import JsonValueType

from .const import ACTION_CONFIRM_SECONDS

type StateCheck = Callable[[State], bool]

# The error of a tool result whose action did not take effect, and the key listing the targets' names.
UNCONFIRMED_ERROR = "ActionNotConfirmed"
UNCONFIRMED_KEY = "unconfirmed"

# What HassTurnOn / HassTurnOff leave an entity of each domain in; other domains (scenes, scripts, media players,
# climate, ...) have no state that says the command worked, so they are not checked.
_ON_OFF_STATES: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "light": (frozenset({"on"}), frozenset({"off"})),
    "switch": (frozenset({"on"}), frozenset({"off"})),
    "fan": (frozenset({"on"}), frozenset({"off"})),
    "input_boolean": (frozenset({"on"}), frozenset({"off"})),
    "siren": (frozenset({"on"}), frozenset({"off"})),
    "humidifier": (frozenset({"on"}), frozenset({"off"})),
    "lock": (frozenset({"locked", "locking"}), frozenset({"unlocked", "unlocking", "open", "opening"})),
    "cover": (frozenset({"open", "opening"}), frozenset({"closed", "closing"})),
    "valve": (frozenset({"open", "opening"}), frozenset({"closed", "closing"})),
}


def _in_states(states: frozenset[str]) -> StateCheck:
    return lambda state: state.state in states


def _attribute_is(attribute: str, value: float, moving: frozenset[str] = frozenset()) -> StateCheck:
    def check(state: State) -> bool:
        current = state.attributes.get(attribute)
        if state.state in moving:
            return True
        return isinstance(current, (int, float)) and math.isclose(float(current), value, abs_tol=0.5)

    return check


def expected_state(intent_type: str, arguments: Mapping[str, Any], entity_id: str) -> StateCheck | None:
    """How the entity's state must look after the action; ``None`` when its domain cannot tell.

    For example ``HassTurnOn`` on ``lock.front_door`` expects ``locked`` (or ``locking``), and
    ``HassClimateSetTemperature`` with ``{"temperature": 21}`` expects the ``temperature`` attribute to be 21.
    """
    domain = split_entity_id(entity_id)[0]
    try:
        if intent_type in (intent.INTENT_TURN_ON, intent.INTENT_TURN_OFF) and domain in _ON_OFF_STATES:
            on, off = _ON_OFF_STATES[domain]
            return _in_states(on if intent_type == intent.INTENT_TURN_ON else off)
        if intent_type == "HassLightSet" and domain == "light":
            return _in_states(frozenset({"off" if arguments.get("brightness") == 0 else "on"}))
        if intent_type == "HassClimateSetTemperature" and domain == "climate" and "temperature" in arguments:
            return _attribute_is("temperature", float(arguments["temperature"]))
        if intent_type == intent.INTENT_SET_POSITION and domain in ("cover", "valve") and "position" in arguments:
            return _attribute_is("current_position", float(arguments["position"]), frozenset({"opening", "closing"}))
    except (TypeError, ValueError):
        return None
    return None


async def async_unconfirmed(hass: HomeAssistant, checks: Mapping[str, StateCheck]) -> set[str]:
    """Entity ids whose state does not pass its check within a short wait (none at once when all pass)."""
    pending = {entity_id for entity_id, check in checks.items() if not _passes(hass.states.get(entity_id), check)}
    if not pending:
        return pending
    all_confirmed = asyncio.Event()

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        if entity_id in pending and _passes(event.data["new_state"], checks[entity_id]):
            pending.discard(entity_id)
            if not pending:
                all_confirmed.set()

    unsubscribe = async_track_state_change_event(hass, list(pending), _changed)
    try:
        async with asyncio.timeout(ACTION_CONFIRM_SECONDS):
            await all_confirmed.wait()
    except TimeoutError:
        pass
    finally:
        unsubscribe()
    return pending


def _passes(state: State | None, check: StateCheck) -> bool:
    return state is not None and check(state)


def _entity_targets(targets: Any) -> dict[str, str]:
    """Entity ids to names of an intent result's targets, e.g. ``[{"name": "Kitchen light", "type": "entity",
    "id": "light.kitchen_light"}]``."""
    return {
        str(target["id"]): str(target.get("name") or target["id"])
        for target in (targets if isinstance(targets, list) else ())
        if isinstance(target, dict) and target.get("type") == "entity" and target.get("id")
    }


async def async_unconfirmed_targets(
    hass: HomeAssistant, intent_type: str, arguments: Mapping[str, Any], targets: Mapping[str, str]
) -> list[str]:
    """Names of the ``targets`` (entity id to name) whose state does not follow the action in time."""
    checks = {
        entity_id: check
        for entity_id in targets
        if (check := expected_state(intent_type, arguments, entity_id)) is not None
    }
    unconfirmed = await async_unconfirmed(hass, checks) if checks else set()
    return [name for entity_id, name in targets.items() if entity_id in unconfirmed]


async def async_check_tool_result(
    hass: HomeAssistant, result: conversation.ToolResultContent, arguments: Mapping[str, Any]
) -> conversation.ToolResultContent:
    """The tool result, turned into an error naming the targets whose state did not follow the action.

    The model reads that error on its next step, and the final reply says what did not work.
    """
    data = result.tool_result.get("data")
    if result.tool_result.get("response_type") != "action_done" or not isinstance(data, dict):
        return result
    names = await async_unconfirmed_targets(hass, result.tool_name, arguments, _entity_targets(data.get("success")))
    if not names:
        return result
    unconfirmed: list[JsonValueType] = list(names)
    return replace(
        result,
        tool_result={
            "error": UNCONFIRMED_ERROR,
            "error_text": f"The command was sent but the state did not change, so it did not work: {', '.join(names)}",
            UNCONFIRMED_KEY: unconfirmed,
        },
    )


async def async_check_intent_response(hass: HomeAssistant, response: intent.IntentResponse) -> list[str]:
    """Names of the targets of a locally handled action whose state did not follow it."""
    if response.response_type is not intent.IntentResponseType.ACTION_DONE or response.intent is None:
        return []
    targets = {
        target.id: target.name
        for target in response.success_results
        if target.type is intent.IntentResponseTargetType.ENTITY and target.id
    }
    arguments = {slot: value.get("value") for slot, value in response.intent.slots.items()}
    return await async_unconfirmed_targets(hass, response.intent.intent_type, arguments, targets)
