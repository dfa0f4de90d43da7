"""The HavenCore AI Task entity: generates text or data matching a task's structure."""

from __future__ import annotations

import json

from homeassistant.components import ai_task, conversation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, LOGGER, SUBENTRY_AI_TASK
from .entity import HavenCoreLLMEntity
from .runtime import HavenCoreConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: HavenCoreConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """One AI Task entity per AI Task subentry."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_AI_TASK:
            async_add_entities([HavenCoreTaskEntity(entry, subentry)], config_subentry_id=subentry.subentry_id)


class HavenCoreTaskEntity(ai_task.AITaskEntity, HavenCoreLLMEntity):
    """Generates data with the backend's LLM, constrained to the task's schema when it has one."""

    _attr_supported_features = ai_task.AITaskEntityFeature.GENERATE_DATA

    async def _async_generate_data(
        self, task: ai_task.GenDataTask, chat_log: conversation.ChatLog
    ) -> ai_task.GenDataTaskResult:
        """Runs the task's chat log; parses the reply as JSON when the task has a structure."""
        await self._async_handle_chat_log(chat_log, task.structure)
        last = chat_log.content[-1]
        if not isinstance(last, conversation.AssistantContent):
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_reply")
        text = last.content or ""
        if not task.structure:
            return ai_task.GenDataTaskResult(conversation_id=chat_log.conversation_id, data=text)
        try:
            data = json.loads(text)
        except ValueError as err:
            LOGGER.warning("The model's structured reply is not JSON: %s", text[:500])
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="invalid_structured_reply") from err
        return ai_task.GenDataTaskResult(conversation_id=chat_log.conversation_id, data=data)
