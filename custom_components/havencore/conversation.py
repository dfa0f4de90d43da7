"""The HavenCore conversation agent: streams the backend's reply into the chat log and runs HA's tools."""

from __future__ import annotations

import time
from typing import Literal

from hassil.recognize import RecognizeResult
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_listen_entity_updates
from homeassistant.components.media_player.const import INTENT_MEDIA_SEARCH_AND_PLAY
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API, MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.start import async_at_started

from .const import (
    CAPABILITY_PROMPT_CACHE,
    CONF_MAX_HISTORY,
    CONF_MEMORY_TOKEN_BUDGET,
    CONF_PREFER_LOCAL_INTENTS,
    CONF_PREPARE_PROMPT,
    CONF_PROMPT,
    CONF_RESUME_WINDOW,
    DEFAULT_MAX_HISTORY,
    DEFAULT_MEMORY_TOKEN_BUDGET,
    DEFAULT_PROMPT,
    DEFAULT_RESUME_WINDOW,
    DOMAIN,
    SUBENTRY_CONVERSATION,
)
from .entity import HavenCoreLLMEntity
from .errors import async_error_message
from .history import ConversationHistory
from .intent_match import (
    MAX_MATCHED_CHARS,
    UnknownNames,
    async_handle_full_match,
    async_recognize,
    fuzzy_target_refused,
    is_registered,
    reads_as_command,
    unknown_names,
)
from .memory_context import async_memory_context
from .prompt_preparation import PromptPreparation
from .reply import async_confirm_local_response, async_humanize_reply
from .runtime import HavenCoreConfigEntry
from .vocabulary import ASSISTANT, async_exposed_entities
from .vocabulary_changes import async_listen_vocabulary_changes

# Turns run one at a time per entity; the backend serializes model access anyway.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: HavenCoreConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """One conversation agent per conversation subentry."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_CONVERSATION:
            async_add_entities([HavenCoreConversationEntity(entry, subentry)], config_subentry_id=subentry.subentry_id)


class HavenCoreConversationEntity(conversation.ConversationEntity, HavenCoreLLMEntity):
    """A conversation agent backed by the HavenCore backend's LLM."""

    _attr_supports_streaming = True

    def __init__(self, entry: HavenCoreConfigEntry, subentry: ConfigSubentry) -> None:
        super().__init__(entry, subentry)
        self._history = ConversationHistory(entry)
        if subentry.data.get(CONF_LLM_HASS_API):
            self._attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    async def async_added_to_hass(self) -> None:
        """Prepares the backend's prompt cache once Home Assistant has started, when the backend has one."""
        await super().async_added_to_hass()
        runtime = self.entry.runtime_data
        if (
            not self.subentry.data.get(CONF_PREPARE_PROMPT, True)
            or CAPABILITY_PROMPT_CACHE not in runtime.info.capabilities
        ):
            return
        preparation = PromptPreparation(self.hass, self.entry, self._async_first_turn_request, self.entity_id)
        self.async_on_remove(async_at_started(self.hass, preparation.async_started))
        self.async_on_remove(runtime.availability.async_add_listener(preparation.async_availability_changed))
        self.async_on_remove(
            async_listen_entity_updates(self.hass, ASSISTANT, preparation.async_exposed_entities_changed)
        )
        self.async_on_remove(async_listen_vocabulary_changes(self.hass, preparation.async_exposed_entities_changed))
        self.async_on_remove(preparation.async_stop)

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        """Whatever the model speaks."""
        return MATCH_ALL

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        """Answers one user turn, continuing the user's recent conversation and recording the turn in the backend."""
        options = self.subentry.data
        started = time.monotonic()
        await self._history.async_resume(
            user_input,
            chat_log,
            self.entity_id,
            float(options.get(CONF_RESUME_WINDOW, DEFAULT_RESUME_WINDOW)),
            int(options.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY)),
        )
        turn_start = len(chat_log.content) - 1
        result = await self._async_answer(user_input, chat_log)
        if result.response.response_type is not intent.IntentResponseType.ERROR:
            timings = {"turn_ms": round((time.monotonic() - started) * 1000, 1)}
            self._history.async_record_turn(self.hass, user_input, chat_log, turn_start, self.entity_id, timings)
        return result

    async def _async_answer(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        """Answers one user turn; backend failures become a short spoken error, never a hang."""
        options = self.subentry.data
        # No sentence of HA's is that long, and its fuzzy matching recurses without end on a page of text.
        matchable = len(user_input.text) <= MAX_MATCHED_CHARS
        local_first = matchable and options.get(CONF_PREFER_LOCAL_INTENTS, True)
        match = (
            await async_recognize(self.hass, user_input)
            if matchable and (local_first or options.get(CONF_LLM_HASS_API))
            else None
        )
        entities = async_exposed_entities(self.hass)
        unknown = unknown_names(match, entities) if match else UnknownNames()
        command = match is not None and reads_as_command(match)
        # A match that names what is not exposed, or a target the guard would refuse, is not HA's to act on.
        if match is not None and (unknown.names or fuzzy_target_refused(self.hass, user_input, match, entities)):
            match = None
        # Only what HA carries out or answers is handled here; what it cannot match or resolve goes to the model with
        # the user's words (the action guard still keeps it off the devices the request does not name).
        if local_first and (local_result := await self._async_handle_locally(user_input, chat_log, match)):
            return local_result
        try:
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOMAIN),
                options.get(CONF_LLM_HASS_API),
                options.get(CONF_PROMPT, DEFAULT_PROMPT),
                user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            return err.as_conversation_result()
        memory = await async_memory_context(
            self.entry, user_input, int(options.get(CONF_MEMORY_TOKEN_BUDGET, DEFAULT_MEMORY_TOKEN_BUDGET))
        )

        try:
            await self._async_handle_chat_log(
                chat_log,
                user_input=user_input,
                memory=memory,
                unknown=unknown.names,
                exposed=entities,
                command=command,
            )
        except HomeAssistantError as err:
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_error(
                intent.IntentResponseErrorCode.UNKNOWN,
                await async_error_message(self.hass, err, user_input.language),
            )
            return conversation.ConversationResult(response=response, conversation_id=chat_log.conversation_id)
        await async_humanize_reply(self.hass, chat_log, user_input.language, command=command)
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _async_handle_locally(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
        match: RecognizeResult | None,
    ) -> conversation.ConversationResult | None:
        """Lets HA's own sentence triggers and intents answer what they understand, in milliseconds.

        Like the Assist pipeline's "prefer local intents": the answer joins the same chat log, so a later LLM turn
        sees it as history. Unlike the pipeline, questions about states HA understands are answered here too (its
        answer is read from the states, where a small model asked "are the blinds open" may open them instead), and
        so are HA's fuzzy matches of exposed names (``match``), as HA's own agent answers them: "dim the bedroom light
        to 20%" is one, where the 0.5B model wrote the call as prose.
        """
        response: intent.IntentResponse | None = None
        if (
            trigger_text := await conversation.async_handle_sentence_triggers(self.hass, user_input, chat_log)
        ) is not None:
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_speech(trigger_text)
        else:
            has_tools = bool(self.subentry.data.get(CONF_LLM_HASS_API))

            def leave_to_llm(result: RecognizeResult) -> bool:
                """Matches HA cannot handle (no handler registered), and media searches when the LLM has tools: they
                need its judgement."""
                return not is_registered(self.hass, result) or (
                    has_tools and result.intent.name == INTENT_MEDIA_SEARCH_AND_PLAY
                )

            response = await conversation.async_handle_intents(
                self.hass, user_input, chat_log, intent_filter=leave_to_llm
            )
            if response is None and match is not None and not leave_to_llm(match):
                response = await async_handle_full_match(self.hass, match, user_input, chat_log)
        if response is None:
            return None
        await async_confirm_local_response(self.hass, response, user_input.language)
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(
                agent_id=self.entity_id, content=response.speech.get("plain", {}).get("speech", "")
            )
        )
        return conversation.ConversationResult(response=response, conversation_id=chat_log.conversation_id)
