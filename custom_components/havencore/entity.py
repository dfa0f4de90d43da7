"""The shared base of HavenCore's entities (device info, availability) and of its LLM entities: a turn's prompt,
tools and tool loop put together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import voluptuous as vol
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import Context
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import llm
from homeassistant.helpers.entity import Entity
from homeassistant.util import dt as dt_util
from voluptuous_openapi import convert

from .action_guard import requested_targets, with_action_guard
from .api import HavenCoreError
from .chat_wire import format_tools, tool_names
from .const import (
    CONF_DIRECT_ACTION_REPLIES,
    CONF_MAX_TOKENS,
    CONF_MAX_TOOL_ITERATIONS,
    CONF_MEMORY_TOKEN_BUDGET,
    CONF_MODEL,
    CONF_PROMPT,
    CONF_TEMPERATURE,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_TOOL_ITERATIONS,
    DEFAULT_MEMORY_TOKEN_BUDGET,
    DEFAULT_TEMPERATURE,
    DOMAIN,
    MENTIONED_LIVE_STATES,
    NAMED_STATES_HEADER,
)
from .errors import backend_error
from .live_context import live_context, with_retrieved_live_context
from .prompt_layout import PromptLayout, build_layout, render_instructions
from .prompt_preparation import PREPARE_MESSAGE
from .runtime import HavenCoreConfigEntry
from .tool_loop import ToolLoop, TurnRules
from .turn_prompt import RequestBuilder
from .vocabulary import ExposedEntity, argument_values, async_exposed_entities, vocabulary_of


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
    """Base of the conversation agent and the AI Task entity: a turn's request, fitted to the model's window, and
    its tool loop over the chat log."""

    def __init__(self, entry: HavenCoreConfigEntry, subentry: ConfigSubentry) -> None:
        super().__init__(entry, subentry)
        self._requests = RequestBuilder(entry, subentry)

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
        api = chat_log.llm_api
        entities = (exposed if exposed is not None else async_exposed_entities(self.hass)) if api else []
        # Without the scripts' own tools, which come with the entities the home context names.
        tools = format_tools(api, entities) if api else None
        layout: PromptLayout | None = None
        named: Sequence[ExposedEntity] = entities
        if user_input is not None:
            try:
                layout, named = await self._async_layout(
                    chat_log, user_input, entities, tools, memory, unknown, command
                )
            except HavenCoreError as err:
                raise backend_error(self.hass, self.entry, err) from err
        if api:
            tools = format_tools(api, entities, named)
        if api and tools:
            payload["tools"] = tools
            # The names, areas and floors a call may use go to the grammar only: the prompt does not grow with them.
            payload["tool_argument_values"] = argument_values(vocabulary_of(named, entities))
        if structure is not None:
            serializer = api.custom_serializer if api else llm.selector_serializer
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "result", "schema": convert(structure, custom_serializer=serializer)},
            }
        rules = TurnRules(
            max_steps=int(options.get(CONF_MAX_TOOL_ITERATIONS, DEFAULT_MAX_TOOL_ITERATIONS)),
            conversation=user_input is not None,
            direct_replies=user_input is not None and bool(options.get(CONF_DIRECT_ACTION_REPLIES, True)),
            command=command,
        )
        await ToolLoop(self.hass, self.entry, self.entity_id, self._requests).async_run(
            chat_log, payload, layout, rules
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

    async def _async_layout(
        self,
        chat_log: conversation.ChatLog,
        user_input: conversation.ConversationInput,
        entities: list[ExposedEntity],
        tools: list[dict[str, Any]] | None,
        memory: str,
        unknown: Sequence[str],
        command: bool,
    ) -> tuple[PromptLayout, Sequence[ExposedEntity]]:
        """This turn's prompt layout, and the entities whose names the tools may use.

        The live states of the devices the request names come with a question or an unclear request, not with what
        HA reads as a command: acting needs names, which the prompt lists, and each state costs the engine about 40
        tokens to compute (0.4 s for the 0.5B model on 2 cores).
        """
        user_name: str | None = None
        if user_input.context.user_id and (user := await self.hass.auth.async_get_user(user_input.context.user_id)):
            user_name = user.name
        api = chat_log.llm_api
        instructions = self._instructions(user_input.as_llm_context(DOMAIN))
        api_prompt = api.api_prompt if api else None
        home = await self._requests.async_home_context(
            self._base_payload()["model"], instructions, api_prompt, tools, entities, user_input.text
        )
        if memory:
            # The memory block was sized by characters; its share is in tokens.
            share = int(self.subentry.data.get(CONF_MEMORY_TOKEN_BUDGET, DEFAULT_MEMORY_TOKEN_BUDGET))
            memory = await self._requests.counter.async_cut(self._base_payload()["model"], memory, share)
        targets = requested_targets(self.hass, user_input, chat_log, entities, unknown)
        named_states = [] if command else [e.entity_id for e in targets.mentioned_entities(MENTIONED_LIVE_STATES)]
        layout = build_layout(
            instructions=instructions,
            api_prompt=api_prompt,
            home=home,
            now=dt_util.now(),
            user_name=user_name,
            extra_system_prompt=chat_log.extra_system_prompt,
            memory=memory or None,
            # A small model answers "what is the thermostat set to" from these, where it rarely asks for them.
            live_states=live_context(self.hass, named_states, NAMED_STATES_HEADER) if named_states and api else None,
            tool_names=tool_names(tools),
        )
        # The chat log (and its debug view) shows the system message the model really gets.
        chat_log.content[0] = conversation.SystemContent(content=layout.system)
        if api:
            chat_log.llm_api = with_action_guard(api, targets)
            if home.retrieved is not None:
                chat_log.llm_api = with_retrieved_live_context(chat_log.llm_api, home.retrieved)
        return layout, home.named

    async def _async_first_turn_request(self) -> dict[str, Any]:
        """A first turn's request (typed, by no known user) to generate one token: its system message and tools are
        those of every turn, so the engine keeps their prefill for the turns to come (see ``prompt_preparation``)."""
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
        tools = format_tools(api, entities) if api else None
        payload = self._base_payload()
        instructions = self._instructions(llm_context)
        home = await self._requests.async_home_context(
            payload["model"], instructions, api.api_prompt if api else None, tools, entities, None
        )
        layout = build_layout(
            instructions=instructions,
            api_prompt=api.api_prompt if api else None,
            home=home,
            now=dt_util.now(),
            user_name=None,
            extra_system_prompt=None,
            tool_names=tool_names(tools),
        )
        request = {
            **payload,
            "max_tokens": 1,
            "messages": layout.messages([{"role": "user", "content": PREPARE_MESSAGE}]),
        }
        if api and (tools := format_tools(api, entities, home.named)):
            request["tools"] = tools
        return request
