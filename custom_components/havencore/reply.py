"""Keeps the spoken reply honest: it says what the tools really did, never "done" for an action that did not
happen, and never raw JSON when a small model echoes a tool result."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent, translation

from .action_check import UNCONFIRMED_KEY, async_check_intent_response
from .action_guard import NOT_REQUESTED_ERROR
from .errors import async_translate
from .prompt_layout import PROMPT_MARKERS

# HA's intent tools' names (HassTurnOn, HassLightSet, ...), which no spoken reply should contain.
_TOOL_NAME = re.compile(r"\bHass[A-Z]\w+")
# HA's error when an intent names nothing that is exposed (a made-up or hidden device).
NO_MATCH_ERROR = "MatchFailedError"


def _is_raw_json(text: str) -> bool:
    """Whether the reply opens with a JSON value: small models echo a call and its result as JSON lines."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return False
    try:
        json.JSONDecoder().raw_decode(stripped)
    except ValueError:
        return False
    return True


def tool_failed(result: dict[str, Any]) -> bool:
    """Whether a tool result reports a failure.

    An intent tool's result looks like ``{"response_type": "action_done", "data": {"success": [{"name": "Kitchen
    light", "type": "entity", ...}], "failed": []}}``; a tool that raised gives ``{"error": ..., "error_text": ...}``.
    """
    data = result.get("data")
    return (
        "error" in result
        or result.get("response_type") == "error"
        or (isinstance(data, dict) and bool(data.get("failed")))
    )


def action_done(result: conversation.ToolResultContent) -> bool:
    """Whether the tool call was an action that Home Assistant carried out on every target (and the state check
    confirmed); queries, live context and failures are not."""
    return result.tool_result.get("response_type") == "action_done" and not tool_failed(result.tool_result)


@dataclass(slots=True)
class TurnOutcome:
    """What this turn's tool calls did."""

    # Names of the entities the turn's actions changed, and their entity ids.
    changed: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    # The latest failed call that no later successful action made good, if any.
    failure: dict[str, Any] | None = None


def turn_outcome(chat_log: conversation.ChatLog) -> TurnOutcome:
    """The outcome of the tool calls since the user's latest message."""
    outcome = TurnOutcome()
    for content in chat_log.content[chat_log.llm_input_provided_index :]:
        if not isinstance(content, conversation.ToolResultContent):
            continue
        result = content.tool_result
        if tool_failed(result):
            outcome.failure = result
            continue
        data = result.get("data")
        if result.get("response_type") == "action_done" and isinstance(data, dict):
            outcome.failure = None
            successes = data.get("success")
            for target in successes if isinstance(successes, list) else ():
                if isinstance(target, dict) and target.get("type") == "entity":
                    outcome.changed.append(str(target.get("name")))
                    outcome.changed_ids.append(str(target.get("id") or ""))
    return outcome


async def _async_states(hass: HomeAssistant, outcome: TurnOutcome, language: str) -> str:
    """Each changed entity with its state now, in the user's language: "Kitchen light (On), Bedroom blinds
    (Closed)". The state says what the action did, also when the model picked the wrong one ("it's too dark" answered
    with the light switched off)."""
    changed = dict.fromkeys(zip(outcome.changed, outcome.changed_ids, strict=True))
    domains = {entity_id.split(".", 1)[0] for _, entity_id in changed if entity_id}
    state_names = await translation.async_get_translations(hass, language, "entity_component", domains)
    said = []
    for name, entity_id in changed:
        if not entity_id or (state := hass.states.get(entity_id)) is None:
            said.append(name)
            continue
        state_name = state_names.get(f"component.{state.domain}.entity_component._.state.{state.state}", state.state)
        said.append(f"{name} ({state_name})")
    return ", ".join(said)


def reply_replaced(outcome: TurnOutcome, command: bool) -> bool:
    """Whether the reply is replaced whatever the model says: a failed action stands, or a ``command`` ran none."""
    return outcome.failure is not None or (command and not outcome.changed)


async def _async_failure_reply(hass: HomeAssistant, failure: dict[str, Any], language: str) -> str | None:
    if names := failure.get(UNCONFIRMED_KEY):
        return await async_translate(hass, "reply_unchanged", language, {"names": ", ".join(names)})
    if failure.get("error") in (NO_MATCH_ERROR, NOT_REQUESTED_ERROR):
        return await async_translate(hass, "reply_not_found", language)
    return await async_translate(hass, "reply_failed", language)


def _echoes_prompt(text: str) -> bool:
    """Whether the reply repeats the prompt's own context lines, or writes a tool call out as prose ("name:
    HassLightSet arguments: ..."), as a small model sometimes does."""
    return any(marker in text for marker in PROMPT_MARKERS) or _TOOL_NAME.search(text) is not None


async def async_humanize_reply(
    hass: HomeAssistant, chat_log: conversation.ChatLog, language: str, *, command: bool = False
) -> None:
    """Replaces the final reply when a failed action stands (whatever the model claims), when a ``command`` (a
    request HA's own sentence matching reads as an action) ran no action at all, or when it is empty, raw JSON or an
    echo of the prompt, with a short sentence built from what the tools really did.

    Without the ``command`` rule the 1.5B model, asked to open the (unexposed) garage door, said "The garage door is
    now open." having called nothing.
    """
    last = chat_log.content[-1]
    if not isinstance(last, conversation.AssistantContent):
        return
    outcome = turn_outcome(chat_log)
    if reply_replaced(outcome, command):
        text = (
            await _async_failure_reply(hass, outcome.failure, language)
            if outcome.failure is not None
            else await async_translate(hass, "reply_no_action", language)
        )
    elif last.content and not _is_raw_json(last.content) and not _echoes_prompt(last.content):
        return
    elif outcome.changed:
        states = await _async_states(hass, outcome, language)
        text = await async_translate(hass, "reply_done", language, {"states": states})
    else:
        text = await async_translate(hass, "reply_unclear", language)
    chat_log.content[-1] = replace(last, content=text or "")


async def async_confirm_local_response(hass: HomeAssistant, response: intent.IntentResponse, language: str) -> None:
    """Turns a locally handled action whose targets did not change into an error saying so."""
    if names := await async_check_intent_response(hass, response):
        text = await async_translate(hass, "reply_unchanged", language, {"names": ", ".join(names)})
        response.async_set_error(intent.IntentResponseErrorCode.FAILED_TO_HANDLE, text or "")
