"""The shared base of HavenCore's LLM entities: device info, availability and the whole tool loop."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any

import voluptuous as vol
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import llm
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.json import json_dumps
from homeassistant.util import dt as dt_util
from voluptuous_openapi import convert

from .action_check import async_check_tool_result
from .action_guard import requested_targets, with_action_guard
from .api import HavenCoreAuthError, HavenCoreConnectionError, HavenCoreResponseError
from .const import (
    CONF_DIRECT_ACTION_REPLIES,
    CONF_ENTITY_RETRIEVAL_THRESHOLD,
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_MAX_TOOL_ITERATIONS,
    CONF_MODEL,
    CONF_PROMPT,
    CONF_TEMPERATURE,
    DEFAULT_ENTITY_RETRIEVAL_THRESHOLD,
    DEFAULT_MAX_HISTORY,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_TOOL_ITERATIONS,
    DEFAULT_TEMPERATURE,
    DOMAIN,
    LOGGER,
    MAX_TOOL_CORRECTIONS,
    MENTIONED_LIVE_STATES,
    NAMED_STATES_HEADER,
    RETRIEVED_ENTITIES,
)
from .entity_retrieval import EntityIndex
from .live_context import live_context, with_retrieved_live_context
from .prompt_layout import PromptLayout, build_layout, render_instructions
from .prompt_preparation import PREPARE_MESSAGE
from .reply import action_done, reply_replaced, tool_failed, turn_outcome
from .runtime import HavenCoreConfigEntry
from .usage import trace_usage
from .vocabulary import ExposedEntity, ExposedVocabulary, async_exposed_entities, constrain_parameters, vocabulary_of

# How much text of a reply that HavenCore replaces anyway is read before the stream is closed (which stops the
# backend generating): a small model answering a command it could not do rambled on for 363 tokens (29 s).
DISCARDED_TEXT_LIMIT = 100

# Set as a tool argument when the model's arguments are not JSON: no tool schema accepts it, so the tool fails
# validation and the error goes back to the model instead of a call with guessed arguments.
UNPARSABLE_ARGUMENTS_KEY = "unparsable_arguments"


def format_tool(
    tool: llm.Tool, custom_serializer: Callable[[Any], Any] | None, vocabulary: ExposedVocabulary
) -> dict[str, Any]:
    """An HA LLM tool as an OpenAI ``tools`` entry, its name/area/floor slots limited to what is exposed."""
    parameters = convert(tool.parameters, custom_serializer=custom_serializer)
    function: dict[str, Any] = {"name": tool.name, "parameters": constrain_parameters(parameters, vocabulary)}
    if tool.description:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def format_tools(
    api: llm.APIInstance, named: Sequence[ExposedEntity], entities: Sequence[ExposedEntity]
) -> list[dict[str, Any]]:
    """The API's tools as OpenAI ``tools``, their name slots limited to ``named`` (see ``vocabulary_of``)."""
    vocabulary = vocabulary_of(named, entities)
    return [format_tool(tool, api.custom_serializer, vocabulary) for tool in api.tools]


def parse_tool_arguments(raw: str) -> dict[str, Any]:
    """Decodes a tool call's JSON arguments; anything but a JSON object is kept aside so validation rejects it."""
    if not raw.strip():
        return {}
    try:
        arguments = json.loads(raw)
    except ValueError:
        return {UNPARSABLE_ARGUMENTS_KEY: raw}
    if not isinstance(arguments, dict):
        return {UNPARSABLE_ARGUMENTS_KEY: raw}
    # Small models send empty strings or nulls for optional slots, which intent matching would take literally.
    return {key: value for key, value in arguments.items() if value not in (None, "")}


def convert_content(content: conversation.Content) -> dict[str, Any]:
    """One chat log item as an OpenAI chat message."""
    if isinstance(content, conversation.ToolResultContent):
        return {"role": "tool", "tool_call_id": content.tool_call_id, "content": json_dumps(content.tool_result)}
    if isinstance(content, conversation.AssistantContent):
        message: dict[str, Any] = {"role": "assistant", "content": content.content or ""}
        if content.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.tool_name, "arguments": json.dumps(call.tool_args)},
                }
                for call in content.tool_calls
            ]
        return message
    return {"role": content.role, "content": content.content}


def trim_history(messages: list[dict[str, Any]], max_user_turns: int) -> list[dict[str, Any]]:
    """Keeps the system prompt and the last ``max_user_turns`` earlier user turns plus the current one."""
    if max_user_turns < 1:
        return messages
    user_indexes = [index for index, message in enumerate(messages) if message["role"] == "user"]
    if len(user_indexes) <= max_user_turns + 1:
        return messages
    first_kept = user_indexes[-(max_user_turns + 1)]
    return [messages[0], *messages[first_kept:]]


async def transform_stream(
    chunks: AsyncIterator[dict[str, Any]],
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """OpenAI chat stream chunks as chat log deltas: text as it arrives, tool calls once complete.

    Chunks look like ``{"choices": [{"index": 0, "delta": {"content": "The light"}}]}`` or, for a tool call split
    over chunks, ``{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "call_1", "function":
    {"name": "HassTurnOn", "arguments": "{\\"name\\": "}}]}}]}`` followed by more ``arguments`` fragments.
    """
    yield {"role": "assistant"}
    pending: dict[int, dict[str, str]] = {}
    async for chunk in chunks:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if content := delta.get("content"):
                yield {"content": content}
            for call in delta.get("tool_calls") or ():
                slot = pending.setdefault(int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
    if pending:
        yield {"tool_calls": [_tool_input(slot) for _, slot in sorted(pending.items())]}


async def without_text(
    deltas: AsyncIterator[conversation.AssistantContentDeltaDict], limit: int = DISCARDED_TEXT_LIMIT
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """The deltas of a step whose reply is replaced whatever it says (see ``reply.reply_replaced``), without their
    text: the Assist pipeline would start speaking a long text before the reply is replaced. Stops after ``limit``
    characters of text; tool calls pass."""
    written = 0
    async for delta in deltas:
        if text := delta.get("content"):
            written += len(text)
            if written > limit:
                return
            continue
        yield delta


def _tool_input(slot: dict[str, str]) -> llm.ToolInput:
    """A complete tool call, keeping the backend's call id when it gave one."""
    arguments = parse_tool_arguments(slot["arguments"])
    if slot["id"]:
        return llm.ToolInput(tool_name=slot["name"], tool_args=arguments, id=slot["id"])
    return llm.ToolInput(tool_name=slot["name"], tool_args=arguments)


def _index_of(items: list[conversation.Content], item: conversation.Content) -> int:
    """Position of this very object (chat log items compare by value, and two results may be equal)."""
    return next(index for index, candidate in enumerate(items) if candidate is item)


class HavenCoreEntity(Entity):
    """An entity of one subentry, unavailable while the backend is unreachable."""

    _attr_has_entity_name = True
    _attr_name: str | None = None

    def __init__(self, entry: HavenCoreConfigEntry, subentry: ConfigSubentry) -> None:
        self.entry = entry
        self.subentry = subentry
        self._attr_unique_id = subentry.subentry_id
        self._attr_device_info = dr.DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer="HavenCore",
            model=subentry.data.get(CONF_MODEL) or None,
            sw_version=entry.runtime_data.info.version,
            entry_type=dr.DeviceEntryType.SERVICE,
        )

    @property
    def available(self) -> bool:
        """False while the backend is unreachable."""
        return self.entry.runtime_data.availability.available

    async def async_added_to_hass(self) -> None:
        """Follows the backend's availability."""
        await super().async_added_to_hass()
        self.async_on_remove(self.entry.runtime_data.availability.async_add_listener(self.async_write_ha_state))


class HavenCoreLLMEntity(HavenCoreEntity):
    """Base of the conversation agent and the AI Task entity: runs the model and tool loop over a chat log."""

    # Embeddings of the exposed entities, made on the first turn that needs retrieval.
    _entity_index: EntityIndex | None = None

    async def _async_handle_chat_log(
        self,
        chat_log: conversation.ChatLog,
        structure: vol.Schema | None = None,
        user_input: conversation.ConversationInput | None = None,
        memory: str = "",
        unknown: Sequence[str] = (),
        exposed: list[ExposedEntity] | None = None,
        command: bool = False,
    ) -> None:
        """Asks the backend for the next reply, running tool calls through the chat log until none are left.

        With ``user_input`` (a conversation turn) the prompt is laid out to stay cached: see ``prompt_layout``;
        ``memory`` (what the backend remembers that is relevant) joins that turn's context; actions are guarded
        (see ``action_guard``), and ``unknown`` lists the names the request uses that are not exposed. ``exposed``
        is the turn's exposed entities when the caller has listed them already; ``command`` says whether HA reads the
        request as an action (its reply is replaced when none runs).
        """
        options = self.subentry.data
        payload = self._base_payload()
        if not chat_log.llm_api:
            entities = []
        elif exposed is None:
            entities = async_exposed_entities(self.hass)
        else:
            entities = exposed
        layout: PromptLayout | None = None
        named = entities
        if user_input is not None:
            layout, named = await self._async_layout(chat_log, user_input, entities, memory, unknown, command)
        if chat_log.llm_api:
            payload["tools"] = format_tools(chat_log.llm_api, named, entities)
        if structure is not None:
            serializer = chat_log.llm_api.custom_serializer if chat_log.llm_api else llm.selector_serializer
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "result", "schema": convert(structure, custom_serializer=serializer)},
            }
        max_history = int(options.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY))
        max_iterations = int(options.get(CONF_MAX_TOOL_ITERATIONS, DEFAULT_MAX_TOOL_ITERATIONS))

        direct_replies = user_input is not None and options.get(CONF_DIRECT_ACTION_REPLIES, True)
        corrections_left = MAX_TOOL_CORRECTIONS
        for _ in range(max_iterations):
            messages = trim_history([convert_content(content) for content in chat_log.content], max_history)
            if layout is not None:
                messages = layout.messages(messages[1:])
            request = {**payload, "messages": messages}
            # The exact request, in the conversation's debug trace: shows what the engine can reuse from its cache.
            chat_log.async_trace({"havencore_request": request})
            replaced = user_input is not None and reply_replaced(turn_outcome(chat_log), command)
            said = len(chat_log.content)
            results = await self._async_run_step(chat_log, request, discard_text=replaced)
            if len(chat_log.content) == said:
                # The step said nothing (or what it said was dropped): the reply says what happened instead.
                self._add_empty_reply(chat_log)
                return
            if not chat_log.unresponded_tool_results:
                return
            failed = any(tool_failed(result.tool_result) for result in results)
            if (failed and not corrections_left) or (direct_replies and all(map(action_done, results))):
                # The reply says what the tools did (see ``reply``): after a failed correction instead of guessing
                # again, after confirmed actions instead of a whole model step to word "done".
                self._add_empty_reply(chat_log)
                return
            corrections_left -= failed
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="too_many_tool_calls",
            translation_placeholders={"count": str(max_iterations)},
        )

    def _base_payload(self) -> dict[str, Any]:
        """The request's model and sampling options."""
        options = self.subentry.data
        return {
            "model": options.get(CONF_MODEL) or self.entry.runtime_data.default_model,
            "temperature": options.get(CONF_TEMPERATURE, DEFAULT_TEMPERATURE),
            "max_tokens": int(options.get(CONF_MAX_TOKENS, DEFAULT_MAX_TOKENS)),
        }

    def _instructions(self, llm_context: llm.LLMContext) -> str:
        """The agent's instructions, the same for every turn (see ``prompt_layout.render_instructions``)."""
        prompt = self.subentry.data.get(CONF_PROMPT) or llm.DEFAULT_INSTRUCTIONS_PROMPT
        return render_instructions(self.hass, prompt, llm_context)

    def _retrieves(self, entities: list[ExposedEntity]) -> bool:
        """Whether each request gets only its most relevant entities, not every exposed one."""
        threshold = int(self.subentry.data.get(CONF_ENTITY_RETRIEVAL_THRESHOLD, DEFAULT_ENTITY_RETRIEVAL_THRESHOLD))
        model = self.entry.runtime_data.info.embeddings_model
        return bool(model and threshold and len(entities) > threshold)

    def _add_empty_reply(self, chat_log: conversation.ChatLog) -> None:
        """Ends the turn with an empty reply, which ``reply.async_humanize_reply`` words from what the tools did."""
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=self.entity_id, content="")
        )

    async def _async_run_step(
        self, chat_log: conversation.ChatLog, request: dict[str, Any], *, discard_text: bool = False
    ) -> list[conversation.ToolResultContent]:
        """Streams one model reply into the chat log (without its text when ``discard_text``), runs its tool calls
        and checks that their actions happened; returns the checked tool results."""
        runtime = self.entry.runtime_data
        arguments: dict[str, dict[str, Any]] = {}
        results: list[conversation.ToolResultContent] = []
        chunks = runtime.client.async_stream_chat(request)
        deltas = transform_stream(trace_usage(chat_log, chunks))
        try:
            # Closed at once when the step ends early, so the backend stops generating.
            async with contextlib.aclosing(chunks):
                async for content in chat_log.async_add_delta_content_stream(
                    self.entity_id, without_text(deltas) if discard_text else deltas
                ):
                    if isinstance(content, conversation.AssistantContent):
                        arguments.update((call.id, call.tool_args) for call in content.tool_calls or ())
                        continue
                    checked = await async_check_tool_result(self.hass, content, arguments.get(content.tool_call_id, {}))
                    if checked is not content:
                        chat_log.content[_index_of(chat_log.content, content)] = checked
                    results.append(checked)
        except HavenCoreAuthError as err:
            self.entry.async_start_reauth(self.hass)
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="invalid_auth") from err
        except HavenCoreConnectionError as err:
            raise runtime.availability.async_unreachable(err) from err
        except HavenCoreResponseError as err:
            LOGGER.warning("HavenCore backend refused a chat request: %s", err)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="backend_error",
                translation_placeholders={"message": err.message},
            ) from err
        runtime.availability.async_mark_ok()
        return results

    async def _async_layout(
        self,
        chat_log: conversation.ChatLog,
        user_input: conversation.ConversationInput,
        entities: list[ExposedEntity],
        memory: str,
        unknown: Sequence[str],
        command: bool,
    ) -> tuple[PromptLayout, list[ExposedEntity]]:
        """This turn's prompt layout, and the entities whose names the tools may use.

        The live states of the devices the request names come with a question or an unclear request, not with what
        HA reads as a command: acting needs names, which the system message lists, and each state costs the engine
        about 40 tokens to compute (0.4 s for the 0.5B model on 2 cores).
        """
        user_name: str | None = None
        if user_input.context.user_id and (user := await self.hass.auth.async_get_user(user_input.context.user_id)):
            user_name = user.name
        retrieved = await self._async_retrieve(chat_log, user_input.text, entities)
        targets = requested_targets(self.hass, user_input, chat_log, entities, unknown)
        named_states = [] if command else [e.entity_id for e in targets.mentioned_entities(MENTIONED_LIVE_STATES)]
        layout = build_layout(
            instructions=self._instructions(user_input.as_llm_context(DOMAIN)),
            api_prompt=chat_log.llm_api.api_prompt if chat_log.llm_api else None,
            entities=entities,
            retrieved=retrieved,
            now=dt_util.now(),
            user_name=user_name,
            extra_system_prompt="\n\n".join(filter(None, (chat_log.extra_system_prompt, memory))) or None,
            # A small model answers "what is the thermostat set to" from these, where it rarely asks for them.
            live_states=live_context(self.hass, named_states, NAMED_STATES_HEADER)
            if named_states and chat_log.llm_api
            else None,
        )
        # The chat log (and its debug view) shows the system message the model really gets.
        chat_log.content[0] = conversation.SystemContent(content=layout.system)
        if chat_log.llm_api:
            chat_log.llm_api = with_action_guard(chat_log.llm_api, targets)
        if retrieved is not None and chat_log.llm_api:
            chat_log.llm_api = with_retrieved_live_context(chat_log.llm_api, retrieved)
        return layout, entities if retrieved is None else retrieved

    async def _async_first_turn_request(self) -> dict[str, Any]:
        """A first turn's request (typed, by no known user) to generate one token: its system message and tools are
        those of every turn, so the engine keeps their prefill for the turns to come (see ``prompt_preparation``).

        When each request gets its own entities (retrieval), the tools name them, so only the system message is
        sent for the engine to keep.
        """
        options = self.subentry.data
        llm_context = llm.LLMContext(
            platform=DOMAIN,
            context=Context(),
            language=self.hass.config.language,
            assistant=conversation.DOMAIN,
            device_id=None,
        )
        api = (
            await llm.async_get_api(self.hass, options[CONF_LLM_HASS_API], llm_context)
            if options.get(CONF_LLM_HASS_API)
            else None
        )
        entities = async_exposed_entities(self.hass) if api else []
        retrieves = self._retrieves(entities)
        layout = build_layout(
            instructions=self._instructions(llm_context),
            api_prompt=api.api_prompt if api else None,
            entities=[] if retrieves else entities,
            retrieved=None,
            now=dt_util.now(),
            user_name=None,
            extra_system_prompt=None,
        )
        request = {
            **self._base_payload(),
            "max_tokens": 1,
            "messages": layout.messages([{"role": "user", "content": PREPARE_MESSAGE}]),
        }
        if api and not retrieves:
            request["tools"] = format_tools(api, entities, entities)
        return request

    async def _async_retrieve(
        self, chat_log: conversation.ChatLog, request: str, entities: list[ExposedEntity]
    ) -> list[ExposedEntity] | None:
        """The entities relevant to the request when the home exposes too many to list; ``None`` to list all.

        Without an embeddings model, or when the backend cannot embed right now, every entity is listed.
        """
        model = self.entry.runtime_data.info.embeddings_model
        if not chat_log.llm_api or not model or not self._retrieves(entities):
            return None
        if self._entity_index is None:
            self._entity_index = EntityIndex(self.entry.runtime_data.client, model)
        try:
            return await self._entity_index.async_select(entities, request, RETRIEVED_ENTITIES)
        except (HavenCoreConnectionError, HavenCoreResponseError) as err:
            LOGGER.warning("Listing every exposed entity: the backend could not embed the request: %s", err)
            return None
