"""``/v1/havencore/`` history, memories and per-user deletion, thin over the memory stores."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from havencore_backend.embeddings.engine import EmbeddingsUnavailableError
from havencore_backend.memory.history import ConversationOwnerError, NewTurn
from havencore_backend.memory.semantic import Memory, QdrantMemoryStore
from havencore_backend.memory.sql_history import SQLHistoryStore

from . import documents
from .errors import APIError
from .stores import available, memory_stores, model_unavailable

router = APIRouter(prefix="/v1/havencore", tags=["memory"])

NonEmpty = Annotated[str, Field(min_length=1, max_length=256)]
Text = Annotated[str, Field(min_length=1, max_length=8000)]
Kind = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class TurnRequest(BaseModel):
    """One turn to append to a conversation (created with the first turn)."""

    user_id: NonEmpty
    user_text: str = Field(max_length=20000)
    assistant_text: str = Field(max_length=20000)
    device_id: str = Field("", max_length=256)
    agent: str = Field("", max_length=256)
    language: str = Field("", max_length=35)
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, max_length=64)
    timings: dict[str, float] = Field(default_factory=dict)
    trace_id: str = Field("", max_length=256)


class MemoryRequest(BaseModel):
    """A memory to add."""

    user_id: NonEmpty
    text: Text
    kind: Kind = "fact"


class MemoryUpdate(BaseModel):
    """New text and/or kind of a memory."""

    text: Text | None = None
    kind: Kind | None = None


class MemorySearch(BaseModel):
    """A semantic search in one user's memories, optionally by kind and creation time (Unix seconds)."""

    user_id: NonEmpty
    query: Text
    limit: int = Field(5, ge=1, le=100)
    kind: Kind | None = None
    since: float | None = None
    until: float | None = None


def _history(request: Request) -> SQLHistoryStore:
    stores = memory_stores(request)
    return available(stores.history, "history database", stores.history_status)


def _memories(request: Request) -> QdrantMemoryStore:
    stores = memory_stores(request)
    return available(stores.memories, "memory store", stores.memory_status)


def _not_found(what: str, param: str) -> APIError:
    return APIError(404, f"No {what} with that id.", error_type="not_found_error", param=param, code="not_found")


def _memory_body(memory: Memory) -> dict[str, Any]:
    return {"object": "memory", **dataclasses.asdict(memory)}


@router.post("/history/{conversation_id}/turns")
async def append_turn(conversation_id: NonEmpty, body: TurnRequest, request: Request) -> dict[str, Any]:
    """Appends a turn in one transaction; 409 when the conversation belongs to another user."""
    try:
        turn = await _history(request).append_turn(NewTurn(conversation_id=conversation_id, **body.model_dump()))
    except ConversationOwnerError as err:
        raise APIError(409, str(err), param="user_id", code="conversation_owner") from err
    return {"object": "conversation.turn", "conversation_id": conversation_id, **dataclasses.asdict(turn)}


@router.get("/history")
async def list_conversations(
    request: Request,
    user_id: Annotated[str | None, Query(max_length=256)] = None,
    device_id: Annotated[str | None, Query(max_length=256)] = None,
    since: float | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Conversations, most recently updated first; ``since`` is a Unix time the last update must not precede."""
    summaries = await _history(request).list_conversations(user_id, device_id, since, limit)
    return {"object": "list", "data": [{"object": "conversation", **dataclasses.asdict(s)} for s in summaries]}


@router.get("/history/{conversation_id}")
async def get_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    """A conversation with every turn in order."""
    conversation = await _history(request).get_conversation(conversation_id)
    if conversation is None:
        raise _not_found("conversation", "conversation_id")
    return {
        "object": "conversation",
        **dataclasses.asdict(conversation.summary),
        "turns": [dataclasses.asdict(turn) for turn in conversation.turns],
    }


@router.delete("/history/{conversation_id}")
async def delete_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
    """Deletes one conversation and its turns."""
    if not await _history(request).delete_conversation(conversation_id):
        raise _not_found("conversation", "conversation_id")
    return {"object": "conversation.deleted", "id": conversation_id, "deleted": True}


@router.delete("/history")
async def delete_user_history(user_id: Annotated[str, Query(min_length=1, max_length=256)], request: Request) -> Any:
    """Deletes every conversation of a user."""
    count = await _history(request).delete_user(user_id)
    return {"object": "history.deleted", "user_id": user_id, "conversations": count}


@router.delete("/users/{user_id}")
async def delete_user(user_id: NonEmpty, request: Request) -> dict[str, Any]:
    """Deletes everything kept about a user: conversations and memories."""
    conversations = await _history(request).delete_user(user_id)
    memories = await _memories(request).delete_user(user_id)
    return {"object": "user.deleted", "user_id": user_id, "conversations": conversations, "memories": memories}


@router.post("/memories")
async def add_memory(body: MemoryRequest, request: Request) -> dict[str, Any]:
    """Embeds and stores a memory."""
    store = _memories(request)
    try:
        memory = await store.add(body.user_id, body.kind, body.text)
    except EmbeddingsUnavailableError as err:
        raise model_unavailable(err) from err
    return _memory_body(memory)


@router.post("/memories/search")
async def search_memories(body: MemorySearch, request: Request) -> dict[str, Any]:
    """The user's memories closest in meaning to the query, best first, each with its similarity."""
    store = _memories(request)
    try:
        matches = await store.search(body.user_id, body.query, body.limit, body.kind, body.since, body.until)
    except EmbeddingsUnavailableError as err:
        raise model_unavailable(err) from err
    return {"object": "list", "data": [_memory_body(m.memory) | {"score": m.score} for m in matches]}


@router.get("/memories")
async def list_memories(
    request: Request,
    user_id: Annotated[str, Query(min_length=1, max_length=256)],
    kind: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A page of a user's memories; pass ``next_offset`` back as ``offset`` for the next page."""
    memories, next_offset = await _memories(request).list(user_id, kind, limit, str(offset) if offset else None)
    return {"object": "list", "data": [_memory_body(m) for m in memories], "next_offset": next_offset}


@router.get("/memories/{memory_id}")
async def get_memory(memory_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """One memory."""
    memory = await _memories(request).get(str(memory_id))
    if memory is None:
        raise _not_found("memory", "memory_id")
    return _memory_body(memory)


@router.patch("/memories/{memory_id}")
async def update_memory(memory_id: uuid.UUID, body: MemoryUpdate, request: Request) -> dict[str, Any]:
    """Changes a memory's text (re-embedded) and/or kind."""
    if body.text is None and body.kind is None:
        raise APIError(400, "Give a new text or kind.", param="text", code="invalid_value")
    try:
        memory = await _memories(request).update(str(memory_id), body.text, body.kind)
    except EmbeddingsUnavailableError as err:
        raise model_unavailable(err) from err
    if memory is None:
        raise _not_found("memory", "memory_id")
    return _memory_body(memory)


@router.delete("/memories/{memory_id}")
async def delete_memory(memory_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Deletes one memory."""
    if not await _memories(request).delete(str(memory_id)):
        raise _not_found("memory", "memory_id")
    return {"object": "memory.deleted", "id": str(memory_id), "deleted": True}


router.include_router(documents.router)
