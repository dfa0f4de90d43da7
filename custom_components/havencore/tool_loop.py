"""The tool loop of a turn: ask the backend for the next reply, run its tool calls through the chat log, check that
their actions happened, and stop when the model is done, has failed twice, or every action is confirmed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .action_check import async_check_tool_result
from .api import HavenCoreError
from .chat_wire import transform_stream, without_text
from .const import DOMAIN, MAX_TOOL_CORRECTIONS
from .errors import backend_error
from .prompt_layout import PromptLayout
from .reply import action_done, reply_replaced, tool_failed, turn_outcome
from .runtime import HavenCoreConfigEntry
from .turn_prompt import RequestBuilder
from .usage import trace_usage


@dataclass(frozen=True, slots=True)
class TurnRules:
    """How a turn's loop ends: ``conversation`` turns (not AI tasks) may have their reply replaced and, with
    ``direct_replies``, confirmed actions worded without another model step; ``command`` says HA reads the request
    as an action (its reply is replaced when none runs)."""

    max_steps: int
    conversation: bool = False
    direct_replies: bool = False
    command: bool = False


def _index_of(items: list[conversation.Content], item: conversation.Content) -> int:
    """Position of this very object (chat log items compare by value, and two results may be equal)."""
    return next(index for index, candidate in enumerate(items) if candidate is item)


class ToolLoop:
    """Runs one agent's turns against its backend."""

    def __init__(
        self, hass: HomeAssistant, entry: HavenCoreConfigEntry, agent_id: str, builder: RequestBuilder
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._agent_id = agent_id
        self._builder = builder

    async def async_run(
        self,
        chat_log: conversation.ChatLog,
        payload: dict[str, Any],
        layout: PromptLayout | None,
        rules: TurnRules,
    ) -> None:
        """Steps until the turn is answered; each request is fitted to the budget before it is sent."""
        corrections_left = MAX_TOOL_CORRECTIONS
        for _ in range(rules.max_steps):
            try:
                fitted = await self._builder.async_fit(payload, chat_log, layout)
            except HavenCoreError as err:
                raise backend_error(self._hass, self._entry, err) from err
            request = {**payload, "messages": fitted.messages}
            # The exact request, in the conversation's debug trace: shows what the engine can reuse from its cache.
            chat_log.async_trace({"havencore_request": request, "havencore_prompt_tokens": fitted.prompt_tokens})
            replaced = rules.conversation and reply_replaced(turn_outcome(chat_log), rules.command)
            said = len(chat_log.content)
            results = await self._async_step(chat_log, request, discard_text=replaced)
            if len(chat_log.content) == said:
                # The step said nothing (or what it said was dropped): the reply says what happened instead.
                self.add_empty_reply(chat_log)
                return
            if not chat_log.unresponded_tool_results:
                return
            failed = any(tool_failed(result.tool_result) for result in results)
            if (failed and not corrections_left) or (rules.direct_replies and all(map(action_done, results))):
                # The reply says what the tools did (see ``reply``): after a failed correction instead of guessing
                # again, after confirmed actions instead of a whole model step to word "done".
                self.add_empty_reply(chat_log)
                return
            corrections_left -= failed
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="too_many_tool_calls",
            translation_placeholders={"count": str(rules.max_steps)},
        )

    def add_empty_reply(self, chat_log: conversation.ChatLog) -> None:
        """Ends the turn with an empty reply, which ``reply.async_humanize_reply`` words from what the tools did."""
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=self._agent_id, content="")
        )

    async def _async_step(
        self, chat_log: conversation.ChatLog, request: dict[str, Any], *, discard_text: bool = False
    ) -> list[conversation.ToolResultContent]:
        """Streams one model reply into the chat log (without its text when ``discard_text``), runs its tool calls
        and checks that their actions happened; returns the checked tool results."""
        runtime = self._entry.runtime_data
        arguments: dict[str, dict[str, Any]] = {}
        results: list[conversation.ToolResultContent] = []
        chunks = runtime.client.async_stream_chat(request)
        deltas = transform_stream(trace_usage(chat_log, chunks))
        try:
            # Closed at once when the step ends early, so the backend stops generating.
            async with contextlib.aclosing(chunks):
                async for content in chat_log.async_add_delta_content_stream(
                    self._agent_id, without_text(deltas) if discard_text else deltas
                ):
                    if isinstance(content, conversation.AssistantContent):
                        arguments.update((call.id, call.tool_args) for call in content.tool_calls or ())
                        continue
                    checked = await async_check_tool_result(
                        self._hass, content, arguments.get(content.tool_call_id, {})
                    )
                    if checked is not content:
                        chat_log.content[_index_of(chat_log.content, content)] = checked
                    results.append(checked)
        except HavenCoreError as err:
            raise backend_error(self._hass, self._entry, err) from err
        runtime.availability.async_mark_ok()
        return results
