"""The ``havencore.*`` actions automations call."""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import voluptuous as vol
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import intent

from .api import HavenCoreResponseError, IngestedDocument
from .const import DEFAULT_MEMORY_KIND, DOMAIN, MEMORY_SEARCH_LIMIT
from .memory_api import KINDS, async_owned_memory
from .memory_scope import async_backend_call, loaded_entry, memory_user_id
from .runtime import HavenCoreConfigEntry

SERVICE_ASK = "ask"
SERVICE_REMEMBER = "remember"
SERVICE_RECALL = "recall"
SERVICE_FORGET = "forget"
SERVICE_INGEST_DOCUMENT = "ingest_document"
SERVICE_CLEAR_HISTORY = "clear_history"
ATTR_PROMPT = "prompt"
ATTR_AGENT = "agent_id"
ATTR_CONVERSATION_ID = "conversation_id"
ATTR_LANGUAGE = "language"
ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_TEXT = "text"
ATTR_KIND = "kind"
ATTR_USER = "user_id"
ATTR_QUERY = "query"
ATTR_LIMIT = "limit"
ATTR_MEMORY_ID = "memory_id"
ATTR_TITLE = "title"
ATTR_PATH = "path"
ATTR_MEDIA_TYPE = "media_type"

# The backend reads these; a file's suffix names its type when the call does not.
MEDIA_TYPES = {".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown", ".pdf": "application/pdf"}
PDF = "application/pdf"

ASK_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_PROMPT): vol.All(cv.string, vol.Length(min=1)),
        vol.Optional(ATTR_AGENT): cv.entity_id,
        vol.Optional(ATTR_CONVERSATION_ID): cv.string,
        vol.Optional(ATTR_LANGUAGE): cv.string,
    }
)

_ENTRY: dict[vol.Marker, Any] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
_USER: dict[vol.Marker, Any] = {vol.Optional(ATTR_USER): vol.All(cv.string, vol.Length(min=1, max=256))}
REMEMBER_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_TEXT): vol.All(cv.string, vol.Length(min=1, max=8000)),
        vol.Optional(ATTR_KIND, default=DEFAULT_MEMORY_KIND): vol.In(KINDS),
        **_USER,
        **_ENTRY,
    }
)
RECALL_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_QUERY): vol.All(cv.string, vol.Length(min=1, max=8000)),
        vol.Optional(ATTR_LIMIT, default=MEMORY_SEARCH_LIMIT): vol.All(vol.Coerce(int), vol.Range(min=1, max=100)),
        **_USER,
        **_ENTRY,
    }
)
FORGET_SCHEMA = vol.Schema({vol.Required(ATTR_MEMORY_ID): vol.All(cv.string, vol.Length(min=1)), **_ENTRY})
INGEST_SCHEMA = vol.Schema(
    vol.All(
        {
            vol.Required(ATTR_TITLE): vol.All(cv.string, vol.Length(min=1, max=256)),
            vol.Exclusive(ATTR_TEXT, "content"): vol.All(cv.string, vol.Length(min=1)),
            vol.Exclusive(ATTR_PATH, "content"): vol.All(cv.string, vol.Length(min=1)),
            vol.Optional(ATTR_MEDIA_TYPE): vol.In(sorted(set(MEDIA_TYPES.values()))),
            **_ENTRY,
        },
        cv.has_at_least_one_key(ATTR_TEXT, ATTR_PATH),
    )
)
CLEAR_HISTORY_SCHEMA = vol.Schema({**_USER, **_ENTRY})


def _havencore_agents(hass: HomeAssistant) -> list[str]:
    """Entity ids of the loaded HavenCore conversation agents."""
    registry = er.async_get(hass)
    loaded = {
        entry.entry_id
        for entry in hass.config_entries.async_entries(DOMAIN, include_disabled=False)
        if entry.state is ConfigEntryState.LOADED
    }
    return [
        entity.entity_id
        for entity in registry.entities.values()
        if entity.platform == DOMAIN
        and entity.domain == "conversation"
        and entity.config_entry_id in loaded
        and hass.states.get(entity.entity_id) is not None
    ]


async def _async_ask(call: ServiceCall) -> ServiceResponse:
    """Sends a prompt to a HavenCore agent and returns its answer."""
    hass = call.hass
    agents = _havencore_agents(hass)
    agent_id: str | None = call.data.get(ATTR_AGENT)
    if agent_id is None:
        if not agents:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_agent")
        agent_id = agents[0]
    elif agent_id not in agents:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="unknown_agent", translation_placeholders={"agent": agent_id}
        )
    result = await conversation.async_converse(
        hass,
        text=call.data[ATTR_PROMPT],
        conversation_id=call.data.get(ATTR_CONVERSATION_ID),
        context=call.context,
        language=call.data.get(ATTR_LANGUAGE),
        agent_id=agent_id,
    )
    speech = result.response.speech.get("plain", {}).get("speech", "")
    if result.response.response_type is intent.IntentResponseType.ERROR:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="ask_failed", translation_placeholders={"message": speech}
        )
    return {"response": speech, "conversation_id": result.conversation_id, ATTR_ENTITY_ID: agent_id}


async def _async_user(call: ServiceCall) -> str:
    """The user an action acts for: the one named (who must exist; only an admin names another), else the caller,
    else the household."""
    if (user_id := call.data.get(ATTR_USER)) is None:
        return memory_user_id(call.context.user_id)
    if await call.hass.auth.async_get_user(user_id) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="unknown_user", translation_placeholders={"user": user_id}
        )
    caller_id = call.context.user_id
    if caller_id is not None and caller_id != user_id:
        caller = await call.hass.auth.async_get_user(caller_id)
        if caller is None or not caller.is_admin:
            raise Unauthorized(context=call.context)
    return str(user_id)


def _entry(call: ServiceCall) -> HavenCoreConfigEntry:
    return loaded_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))


async def _async_remember(call: ServiceCall) -> ServiceResponse:
    """Stores a memory; returns its id."""
    entry = _entry(call)
    user_id = await _async_user(call)
    memory = await async_backend_call(
        call.hass,
        entry,
        entry.runtime_data.client.async_add_memory(user_id, call.data[ATTR_TEXT], call.data[ATTR_KIND]),
    )
    return {ATTR_MEMORY_ID: memory.id, ATTR_USER: memory.user_id}


async def _async_recall(call: ServiceCall) -> ServiceResponse:
    """The user's memories closest to the query, best first, with their similarity."""
    entry = _entry(call)
    user_id = await _async_user(call)
    matches = await async_backend_call(
        call.hass,
        entry,
        entry.runtime_data.client.async_search_memories(user_id, call.data[ATTR_QUERY], call.data[ATTR_LIMIT]),
    )
    return {
        "memories": [
            {ATTR_MEMORY_ID: match.id, ATTR_TEXT: match.text, ATTR_KIND: match.kind, "score": match.score}
            for match in matches
        ]
    }


async def _async_forget(call: ServiceCall) -> None:
    """Deletes one memory."""
    entry = _entry(call)
    memory_id = call.data[ATTR_MEMORY_ID]
    if await async_backend_call(call.hass, entry, async_owned_memory(entry, memory_id, None)) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="unknown_memory_id", translation_placeholders={"id": memory_id}
        )
    await async_backend_call(call.hass, entry, entry.runtime_data.client.async_delete_memory(memory_id))


def _read_document(path: Path) -> bytes:
    return path.read_bytes()


async def _async_ingest_document(call: ServiceCall) -> ServiceResponse:
    """Sends a document (text, or a file under an allowed folder) to the backend; returns its id and chunk count."""
    hass = call.hass
    entry = _entry(call)
    title = call.data[ATTR_TITLE]
    client = entry.runtime_data.client
    if (text := call.data.get(ATTR_TEXT)) is not None:
        media_type = call.data.get(ATTR_MEDIA_TYPE, "text/plain")
        if media_type == PDF:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="pdf_needs_path")
        request = client.async_ingest_document(title, media_type, text=text)
    else:
        path = Path(call.data[ATTR_PATH])
        if not path.is_absolute() or not hass.config.is_allowed_path(str(path)):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="path_not_allowed",
                translation_placeholders={"path": str(path)},
            )
        media_type = call.data.get(ATTR_MEDIA_TYPE) or MEDIA_TYPES.get(path.suffix.lower(), "text/plain")
        try:
            content = await hass.async_add_executor_job(_read_document, path)
        except OSError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unreadable_file",
                translation_placeholders={"path": str(path), "error": err.strerror or str(err)},
            ) from err
        if media_type == PDF:
            request = client.async_ingest_document(title, media_type, content_base64=base64.b64encode(content).decode())
        else:
            request = client.async_ingest_document(title, media_type, text=content.decode("utf-8", errors="replace"))
    document: IngestedDocument = await async_backend_call(hass, entry, _async_refused_as_invalid(request))
    return {"document_id": document.id, "chunks": document.chunks}


async def _async_refused_as_invalid(request: Awaitable[IngestedDocument]) -> IngestedDocument:
    """The backend's 400 for a document it cannot read is the caller's input error, not a backend failure."""
    try:
        return await request
    except HavenCoreResponseError as err:
        if err.status == HTTPStatus.BAD_REQUEST:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_document",
                translation_placeholders={"message": err.message},
            ) from err
        raise


async def _async_clear_history(call: ServiceCall) -> ServiceResponse:
    """Deletes every conversation the backend keeps of the user; returns how many."""
    entry = _entry(call)
    user_id = await _async_user(call)
    count = await async_backend_call(call.hass, entry, entry.runtime_data.client.async_delete_history(user_id))
    return {ATTR_USER: user_id, "conversations": count}


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Registers every HavenCore action."""
    hass.services.async_register(
        DOMAIN, SERVICE_ASK, _async_ask, schema=ASK_SCHEMA, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN, SERVICE_REMEMBER, _async_remember, schema=REMEMBER_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RECALL, _async_recall, schema=RECALL_SCHEMA, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, SERVICE_FORGET, _async_forget, schema=FORGET_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_INGEST_DOCUMENT,
        _async_ingest_document,
        schema=INGEST_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CLEAR_HISTORY,
        _async_clear_history,
        schema=CLEAR_HISTORY_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
