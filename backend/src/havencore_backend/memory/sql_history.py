"""The history store over PostgreSQL or SQLite: one shared set of queries, one transaction per turn."""

from __future__ import annotations

import json
import time
from typing import Any

from .history import Conversation, ConversationOwnerError, ConversationSummary, NewTurn, Turn
from .sql_database import Row, SQLDatabase

_SUMMARY_COLUMNS = "id, user_id, device_id, agent, language, created_at, updated_at, turn_count"
_TURN_COLUMNS = "seq, user_text, assistant_text, tool_calls, agent, device_id, language, timings, trace_id, created_at"


def _summary(row: Row) -> ConversationSummary:
    return ConversationSummary(**row)


def _turn(row: Row) -> Turn:
    return Turn(**(row | {"tool_calls": json.loads(row["tool_calls"]), "timings": json.loads(row["timings"])}))


class SQLHistoryStore:
    """``HistoryStore`` on a migrated ``SQLDatabase``."""

    def __init__(self, database: SQLDatabase) -> None:
        self.database = database

    async def append_turn(self, turn: NewTurn) -> Turn:
        """Upserts the conversation (locking its row, which numbers turns without gaps) and inserts the turn.

        The conversation keeps the device, agent and language of its first turn; each turn keeps its own.
        """
        now = time.time()
        async with self.database.transaction() as tx:
            owner = await tx.fetch(
                "INSERT INTO conversations (id, user_id, device_id, agent, language, created_at, updated_at,"
                " turn_count) VALUES ($1, $2, $3, $4, $5, $6, $6, 1) ON CONFLICT (id) DO UPDATE SET"
                " updated_at = excluded.updated_at, turn_count = conversations.turn_count + 1"
                " RETURNING user_id, turn_count",
                turn.conversation_id,
                turn.user_id,
                turn.device_id,
                turn.agent,
                turn.language,
                now,
            )
            if owner[0]["user_id"] != turn.user_id:
                raise ConversationOwnerError(f"conversation {turn.conversation_id!r} belongs to another user")
            stored = Turn(
                seq=int(owner[0]["turn_count"]),
                user_text=turn.user_text,
                assistant_text=turn.assistant_text,
                tool_calls=turn.tool_calls,
                agent=turn.agent,
                device_id=turn.device_id,
                language=turn.language,
                timings=turn.timings,
                trace_id=turn.trace_id,
                created_at=now,
            )
            await tx.execute(
                f"INSERT INTO turns (conversation_id, {_TURN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
                " $10, $11)",
                turn.conversation_id,
                stored.seq,
                stored.user_text,
                stored.assistant_text,
                json.dumps(stored.tool_calls),
                stored.agent,
                stored.device_id,
                stored.language,
                json.dumps(stored.timings),
                stored.trace_id,
                now,
            )
        return stored

    async def list_conversations(
        self, user_id: str | None = None, device_id: str | None = None, since: float | None = None, limit: int = 50
    ) -> list[ConversationSummary]:
        """Conversations, most recently updated first, filtered by user, device and last update."""
        conditions: list[str] = []
        args: list[Any] = []
        for condition, value in (("user_id = ", user_id), ("device_id = ", device_id), ("updated_at >= ", since)):
            if value is not None:
                args.append(value)
                conditions.append(f"{condition}${len(args)}")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        args.append(limit)
        async with self.database.transaction() as tx:
            rows = await tx.fetch(
                f"SELECT {_SUMMARY_COLUMNS} FROM conversations {where} ORDER BY updated_at DESC, id LIMIT ${len(args)}",
                *args,
            )
        return [_summary(row) for row in rows]

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        """A conversation with its turns, or ``None``."""
        async with self.database.transaction() as tx:
            rows = await tx.fetch(f"SELECT {_SUMMARY_COLUMNS} FROM conversations WHERE id = $1", conversation_id)
            if not rows:
                return None
            turns = await tx.fetch(
                f"SELECT {_TURN_COLUMNS} FROM turns WHERE conversation_id = $1 ORDER BY seq", conversation_id
            )
        return Conversation(_summary(rows[0]), [_turn(row) for row in turns])

    async def delete_conversation(self, conversation_id: str) -> bool:
        """Deletes a conversation and its turns; ``False`` when there was none."""
        async with self.database.transaction() as tx:
            await tx.execute("DELETE FROM turns WHERE conversation_id = $1", conversation_id)
            deleted = await tx.fetch("DELETE FROM conversations WHERE id = $1 RETURNING id", conversation_id)
        return bool(deleted)

    async def delete_user(self, user_id: str) -> int:
        """Deletes every conversation of a user; returns how many."""
        async with self.database.transaction() as tx:
            await tx.execute(
                "DELETE FROM turns WHERE conversation_id IN (SELECT id FROM conversations WHERE user_id = $1)", user_id
            )
            deleted = await tx.fetch("DELETE FROM conversations WHERE user_id = $1 RETURNING id", user_id)
        return len(deleted)
