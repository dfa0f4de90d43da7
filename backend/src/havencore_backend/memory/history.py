"""Conversation history: what one turn holds and the interface of the store that keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class ConversationOwnerError(Exception):
    """A turn names a conversation that belongs to another user."""


@dataclass(frozen=True, slots=True)
class NewTurn:
    """One exchange as the agent reports it."""

    conversation_id: str
    user_id: str
    user_text: str
    assistant_text: str
    device_id: str = ""
    agent: str = ""
    language: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # each call with its arguments and result
    timings: dict[str, float] = field(default_factory=dict)  # e.g. {"stt_ms": 120, "llm_ms": 800}
    trace_id: str = ""


@dataclass(frozen=True, slots=True)
class Turn:
    """A stored turn; ``seq`` counts from 1 within its conversation."""

    seq: int
    user_text: str
    assistant_text: str
    tool_calls: list[dict[str, Any]]
    agent: str
    device_id: str
    language: str
    timings: dict[str, float]
    trace_id: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation without its turns."""

    id: str
    user_id: str
    device_id: str
    agent: str
    language: str
    created_at: float
    updated_at: float
    turn_count: int


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation with its turns in order."""

    summary: ConversationSummary
    turns: list[Turn]


class HistoryStore(Protocol):
    """Keeps every turn; each append is one transaction, so a turn is stored whole or not at all."""

    async def append_turn(self, turn: NewTurn) -> Turn:
        """Stores a turn (creating its conversation); raises ``ConversationOwnerError`` for another user's."""
        ...

    async def list_conversations(
        self, user_id: str | None = None, device_id: str | None = None, since: float | None = None, limit: int = 50
    ) -> list[ConversationSummary]:
        """Conversations, most recently updated first, filtered by user, device and last update."""
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        """A conversation with its turns, or ``None``."""
        ...

    async def delete_conversation(self, conversation_id: str) -> bool:
        """Deletes a conversation and its turns; ``False`` when there was none."""
        ...

    async def delete_user(self, user_id: str) -> int:
        """Deletes every conversation of a user; returns how many."""
        ...
