"""HavenCore's own LLM API: tools to remember, recall and forget, acting for the user who is talking."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from typing import Any

import voluptuous as vol
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import llm
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.json import JsonObjectType

from .api import HavenCoreResponseError, MemoryRecord
from .const import (
    DEFAULT_MEMORY_KIND,
    DOMAIN,
    MEMORY_LLM_API_ID,
    MEMORY_LLM_API_NAME,
    MEMORY_MIN_SCORE,
    MEMORY_SEARCH_LIMIT,
)
from .memory_scope import async_backend_call, loaded_entry, memory_user_id
from .runtime import HavenCoreConfigEntry

# The unregister function of the API while it is offered: once, however many entries are loaded.
DATA_MEMORY_API: HassKey[Callable[[], None]] = HassKey(f"{DOMAIN}_memory_api")

API_PROMPT = (
    "Use remember when the user tells you something worth keeping about themselves or the home, or asks you to "
    "remember it. Use recall to look up what you were told before. Use forget when the user asks you to forget "
    "something."
)
KINDS = ("fact", "preference", "routine", "person")
_KIND = vol.In(KINDS)
_TEXT = vol.All(cv.string, vol.Length(min=1, max=8000))


def _memory_json(memory: MemoryRecord) -> dict[str, Any]:
    return {"memory_id": memory.id, "text": memory.text, "kind": memory.kind}


class RememberTool(llm.Tool):
    """Stores a memory for the user."""

    name = "remember"
    description = "Remember a fact or preference the user told you, in one short sentence."
    parameters = vol.Schema({vol.Required("text"): _TEXT, vol.Optional("kind", default=DEFAULT_MEMORY_KIND): _KIND})

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> JsonObjectType:
        """Embeds and stores the text."""
        entry = loaded_entry(hass)
        user_id = _user(llm_context)
        args = self.parameters(tool_input.tool_args)
        memory = await async_backend_call(
            hass, entry, entry.runtime_data.client.async_add_memory(user_id, args["text"], args["kind"])
        )
        return {"remembered": _memory_json(memory)}


class RecallTool(llm.Tool):
    """Searches the user's memories."""

    name = "recall"
    description = "Look up what you remember about a topic."
    parameters = vol.Schema(
        {
            vol.Required("query"): _TEXT,
            vol.Optional("limit", default=MEMORY_SEARCH_LIMIT): vol.All(vol.Coerce(int), vol.Range(min=1, max=20)),
        }
    )

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> JsonObjectType:
        """The closest memories above the relevance threshold, best first."""
        entry = loaded_entry(hass)
        args = self.parameters(tool_input.tool_args)
        matches = await async_backend_call(
            hass,
            entry,
            entry.runtime_data.client.async_search_memories(_user(llm_context), args["query"], args["limit"]),
        )
        return {
            "memories": [
                _memory_json(match) | {"score": match.score}
                for match in matches
                if (match.score or 0.0) >= MEMORY_MIN_SCORE
            ]
        }


class ForgetTool(llm.Tool):
    """Deletes one of the user's memories, by id or as the closest match to a description."""

    name = "forget"
    description = "Forget a memory: give its memory_id from recall, or a query describing it."
    parameters = vol.Schema(
        vol.All(
            {vol.Optional("memory_id"): cv.string, vol.Optional("query"): _TEXT},
            cv.has_at_least_one_key("memory_id", "query"),
        )
    )

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> JsonObjectType:
        """Deletes the memory, only ever one of the calling user's."""
        entry = loaded_entry(hass)
        client = entry.runtime_data.client
        user_id = _user(llm_context)
        args = self.parameters(tool_input.tool_args)
        if "memory_id" in args:
            memory = await async_backend_call(hass, entry, async_owned_memory(entry, args["memory_id"], user_id))
        else:
            matches = await async_backend_call(hass, entry, client.async_search_memories(user_id, args["query"], 1))
            memory = next((match for match in matches if (match.score or 0.0) >= MEMORY_MIN_SCORE), None)
        if memory is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="unknown_memory")
        await async_backend_call(hass, entry, client.async_delete_memory(memory.id))
        return {"forgotten": _memory_json(memory)}


async def async_owned_memory(entry: HavenCoreConfigEntry, memory_id: str, user_id: str | None) -> MemoryRecord | None:
    """The memory with this id (of this user, when one is given), or ``None``."""
    try:
        uuid.UUID(memory_id)
    except ValueError:
        return None  # not even a memory id
    try:
        memory = await entry.runtime_data.client.async_get_memory(memory_id)
    except HavenCoreResponseError as err:
        if err.status == HTTPStatus.NOT_FOUND:
            return None
        raise
    return memory if user_id is None or memory.user_id == user_id else None


def _user(llm_context: llm.LLMContext) -> str:
    return memory_user_id(llm_context.context.user_id if llm_context.context else None)


class HavenCoreMemoryAPI(llm.API):
    """Remember, recall and forget through the first loaded HavenCore backend."""

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(hass=hass, id=MEMORY_LLM_API_ID, name=MEMORY_LLM_API_NAME)

    async def async_get_api_instance(self, llm_context: llm.LLMContext) -> llm.APIInstance:
        """The three memory tools for this conversation's user."""
        return llm.APIInstance(
            api=self,
            api_prompt=API_PROMPT,
            llm_context=llm_context,
            tools=[RememberTool(), RecallTool(), ForgetTool()],
        )


@callback
def async_offer_memory_api(hass: HomeAssistant, entry: HavenCoreConfigEntry) -> None:
    """Registers the memory API with the first loaded entry; the last entry to unload withdraws it."""
    if DATA_MEMORY_API not in hass.data:
        hass.data[DATA_MEMORY_API] = llm.async_register_api(hass, HavenCoreMemoryAPI(hass))
    entry.async_on_unload(partial(_async_withdraw_memory_api, hass, entry.entry_id))


@callback
def _async_withdraw_memory_api(hass: HomeAssistant, entry_id: str) -> None:
    if any(other.entry_id != entry_id for other in hass.config_entries.async_loaded_entries(DOMAIN)):
        return
    if unregister := hass.data.pop(DATA_MEMORY_API, None):
        unregister()
