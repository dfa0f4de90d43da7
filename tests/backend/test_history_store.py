"""The history store against both real SQL backends: migrations, whole turns, numbering, isolation and deletion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from havencore_backend.memory.history import ConversationOwnerError, NewTurn
from havencore_backend.memory.migrations import SCHEMA_VERSION, migrate, schema_version
from havencore_backend.memory.postgres_database import PostgresDatabase
from havencore_backend.memory.sql_database import SQLDatabase
from havencore_backend.memory.sql_history import SQLHistoryStore
from havencore_backend.memory.sqlite_database import SQLiteDatabase
from tests.backend.postgres import create_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[SQLDatabase]:
    """An empty database of each kind, unmigrated."""
    database: SQLDatabase
    if request.param == "sqlite":
        database = await SQLiteDatabase.open(tmp_path / "history.sqlite3")
    else:
        database = await PostgresDatabase.open(await create_database(postgres_url))
    yield database
    await database.close()


@pytest.fixture
async def store(empty_database: SQLDatabase) -> SQLHistoryStore:
    """A history store on a migrated database."""
    await migrate(empty_database)
    return SQLHistoryStore(empty_database)


def _turn(conversation: str, user: str, text: str, **extra: object) -> NewTurn:
    return NewTurn(conversation, user, f"user says {text}", f"assistant answers {text}", **extra)  # type: ignore[arg-type]


async def test_migrations_from_empty_reach_the_current_version_once(empty_database: SQLDatabase) -> None:
    assert await schema_version(empty_database) == 0
    assert await migrate(empty_database) == SCHEMA_VERSION
    assert await migrate(empty_database) == SCHEMA_VERSION  # a second start applies nothing
    assert await schema_version(empty_database) == SCHEMA_VERSION


async def test_migration_from_the_previous_version_keeps_the_turns(empty_database: SQLDatabase) -> None:
    await migrate(empty_database, target=SCHEMA_VERSION - 1)
    async with empty_database.transaction() as tx:
        await tx.execute(
            "INSERT INTO conversations VALUES ('old', 'anna', 'kitchen', 'agent', 'en', 1.0, 2.0, 1)",
        )
        await tx.execute("INSERT INTO turns VALUES ('old', 1, 'hi', 'hello', '[]', 1.5)")
    assert await migrate(empty_database) == SCHEMA_VERSION
    conversation = await SQLHistoryStore(empty_database).get_conversation("old")
    assert conversation is not None
    assert conversation.summary.device_id == "kitchen"
    [turn] = conversation.turns
    assert (turn.user_text, turn.assistant_text, turn.timings, turn.trace_id) == ("hi", "hello", {}, "")


async def test_a_turn_is_stored_whole(store: SQLHistoryStore) -> None:
    calls = [{"name": "HassTurnOn", "arguments": {"name": "kitchen light"}, "result": {"success": True}}]
    stored = await store.append_turn(
        _turn(
            "c1",
            "anna",
            "lights",
            device_id="sat-kitchen",
            agent="conversation.havencore",
            language="en",
            tool_calls=calls,
            timings={"llm_ms": 812.5},
            trace_id="trace-1",
        )
    )
    assert stored.seq == 1
    conversation = await store.get_conversation("c1")
    assert conversation is not None
    assert conversation.summary.user_id == "anna"
    assert conversation.summary.turn_count == 1
    [turn] = conversation.turns
    assert turn == stored
    assert turn.tool_calls == calls
    assert turn.timings == {"llm_ms": 812.5}
    assert await store.get_conversation("missing") is None


async def test_concurrent_turns_are_numbered_without_gaps(store: SQLHistoryStore) -> None:
    await asyncio.gather(*(store.append_turn(_turn("busy", "anna", str(i))) for i in range(20)))
    conversation = await store.get_conversation("busy")
    assert conversation is not None
    assert [turn.seq for turn in conversation.turns] == list(range(1, 21))
    assert sorted(turn.user_text for turn in conversation.turns) == sorted(f"user says {i}" for i in range(20))
    assert conversation.summary.turn_count == 20


async def test_another_users_conversation_is_refused_and_left_unchanged(store: SQLHistoryStore) -> None:
    await store.append_turn(_turn("mine", "anna", "one"))
    with pytest.raises(ConversationOwnerError):
        await store.append_turn(_turn("mine", "ben", "intrusion"))
    conversation = await store.get_conversation("mine")
    assert conversation is not None
    assert [turn.user_text for turn in conversation.turns] == ["user says one"]
    assert conversation.summary.turn_count == 1


async def test_listing_filters_by_user_device_and_time_and_deletion_is_per_user(store: SQLHistoryStore) -> None:
    await store.append_turn(_turn("a-kitchen", "anna", "1", device_id="kitchen"))
    await store.append_turn(_turn("a-bedroom", "anna", "2", device_id="bedroom"))
    await store.append_turn(_turn("b-kitchen", "ben", "3", device_id="kitchen"))
    assert [c.id for c in await store.list_conversations(user_id="anna")] == ["a-bedroom", "a-kitchen"]
    assert [c.id for c in await store.list_conversations(user_id="anna", device_id="kitchen")] == ["a-kitchen"]
    latest = (await store.list_conversations(user_id="anna"))[0].updated_at
    assert {c.id for c in await store.list_conversations(since=latest)} >= {"a-bedroom", "b-kitchen"}
    assert await store.list_conversations(since=latest + 3600) == []
    assert len(await store.list_conversations(limit=2)) == 2

    assert await store.delete_conversation("a-kitchen") is True
    assert await store.delete_conversation("a-kitchen") is False
    assert await store.delete_user("anna") == 1
    assert [c.id for c in await store.list_conversations()] == ["b-kitchen"]
    assert await store.get_conversation("a-bedroom") is None
