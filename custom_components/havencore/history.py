"""Conversation history in the backend: every turn recorded, and a user's recent conversation resumed after Home
Assistant's own chat log (kept about five minutes) has expired."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import llm
from homeassistant.util import dt as dt_util

from .api import HavenCoreError, StoredTurn
from .const import LOGGER, MEMORY_LOOKUP_TIMEOUT
from .memory_scope import memory_user_id
from .runtime import HavenCoreConfigEntry

# HA conversation ids whose turns continue a resumed backend conversation; HA forgets its chat logs within
# minutes, so a bounded memory of the latest ones is enough.
_MAX_RESUMED = 256


def turn_tool_calls(content: list[conversation.Content]) -> list[dict[str, Any]]:
    """The tool calls of one turn's chat log content, each with its arguments and result."""
    calls: dict[str, dict[str, Any]] = {}
    for item in content:
        if isinstance(item, conversation.AssistantContent):
            for call in item.tool_calls or ():
                calls[call.id] = {"id": call.id, "name": call.tool_name, "arguments": call.tool_args}
        elif isinstance(item, conversation.ToolResultContent) and item.tool_call_id in calls:
            calls[item.tool_call_id]["result"] = item.tool_result
    return list(calls.values())


def turn_reply(content: list[conversation.Content]) -> str:
    """What the assistant said in one turn: its last non-empty text."""
    for item in reversed(content):
        if isinstance(item, conversation.AssistantContent) and item.content:
            return item.content
    return ""


def tool_call_content(
    agent_id: str, calls: list[tuple[llm.ToolInput, dict[str, Any]]]
) -> list[conversation.AssistantContent | conversation.ToolResultContent]:
    """Calls that already ran (external to this chat log's tool loop) and their results, as chat log content."""
    if not calls:
        return []
    return [
        conversation.AssistantContent(agent_id=agent_id, content=None, tool_calls=[call for call, _ in calls]),
        *(
            conversation.ToolResultContent(
                agent_id=agent_id, tool_call_id=call.id, tool_name=call.tool_name, tool_result=result
            )
            for call, result in calls
        ),
    ]


def earlier_content(turns: list[StoredTurn], agent_id: str) -> list[conversation.Content]:
    """Stored turns as the chat log's user and assistant content, with the actions they ran.

    The actions are kept so a model sees that commands were carried out by calls (a small model shown only "Turned
    on the light" after each command answers the next one in words alone); what queries returned is stale, so those
    calls are left out.
    """
    content: list[conversation.Content] = []
    for turn in turns:
        content.append(conversation.UserContent(content=turn.user_text))
        actions = [
            (llm.ToolInput(tool_name=call["name"], tool_args=arguments, external=True), result)
            for call in turn.tool_calls
            if isinstance(result := call.get("result"), dict)
            and result.get("response_type") == "action_done"
            and isinstance(arguments := call.get("arguments") or {}, dict)
        ]
        content.extend(tool_call_content(agent_id, actions))
        content.append(conversation.AssistantContent(agent_id=agent_id, content=turn.assistant_text))
    return content


class ConversationHistory:
    """Records an entry's turns in the backend and resumes recent conversations into fresh chat logs."""

    def __init__(self, entry: HavenCoreConfigEntry) -> None:
        self._entry = entry
        self._backend_ids: OrderedDict[str, str] = OrderedDict()
        self._failing = False

    def backend_conversation_id(self, conversation_id: str) -> str:
        """The backend conversation the turns of this HA conversation go to."""
        return self._backend_ids.get(conversation_id, conversation_id)

    async def async_resume(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
        agent_id: str,
        window_minutes: float,
        max_turns: int,
    ) -> None:
        """Puts the turns of the user's conversation updated within the window into a chat log that has none.

        Only a fresh log qualifies (the system prompt and this turn's user text); a turn without an HA user is
        resumed only on the same device, so one satellite never continues another's conversation.
        """
        user_id = memory_user_id(user_input.context.user_id)
        if (
            window_minutes <= 0
            or not self._entry.runtime_data.availability.available  # no waiting on a backend known to be gone
            or len(chat_log.content) != 2
            or (not user_input.context.user_id and not user_input.device_id)
        ):
            return
        since = dt_util.utcnow().timestamp() - window_minutes * 60
        client = self._entry.runtime_data.client
        try:
            async with asyncio.timeout(MEMORY_LOOKUP_TIMEOUT):
                recent = await client.async_list_conversations(user_id, user_input.device_id, since, limit=1)
                if not recent:
                    return
                turns = await client.async_get_turns(recent[0].id)
        except (HavenCoreError, TimeoutError) as err:
            LOGGER.debug("Could not look up a recent conversation to resume: %s", err)
            return
        if max_turns > 0:
            turns = turns[-max_turns:]
        chat_log.content[1:1] = earlier_content(turns, agent_id)
        self._backend_ids[chat_log.conversation_id] = recent[0].id
        while len(self._backend_ids) > _MAX_RESUMED:
            self._backend_ids.popitem(last=False)
        LOGGER.debug("Resumed conversation %s with %d earlier turns", recent[0].id, len(turns))

    @callback
    def async_record_turn(
        self,
        hass: HomeAssistant,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
        turn_start: int,
        agent_id: str,
        timings: dict[str, float],
    ) -> None:
        """Stores the turn whose content starts at ``turn_start`` in the background; a reply never waits for it."""
        content = chat_log.content[turn_start:]
        reply = turn_reply(content)
        if not reply:
            return
        turn = {
            "user_id": memory_user_id(user_input.context.user_id),
            "user_text": user_input.text,
            "assistant_text": reply,
            "device_id": user_input.device_id or "",
            "agent": agent_id,
            "language": user_input.language,
            "tool_calls": turn_tool_calls(content),
            "timings": timings,
            # HA's context id ties the turn to the logbook and the events it caused.
            "trace_id": user_input.context.id,
        }
        self._entry.async_create_background_task(
            hass,
            self._async_store(self.backend_conversation_id(chat_log.conversation_id), turn),
            "havencore record turn",
        )

    async def _async_store(self, conversation_id: str, turn: dict[str, Any]) -> None:
        try:
            await self._entry.runtime_data.client.async_append_turn(conversation_id, turn)
        except HavenCoreError as err:
            # Once on the first failure, quietly while it lasts.
            (LOGGER.debug if self._failing else LOGGER.warning)("HavenCore could not record a turn: %s", err)
            self._failing = True
            return
        if self._failing:
            LOGGER.info("HavenCore records turns again")
            self._failing = False
