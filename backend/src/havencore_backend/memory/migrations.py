"""Versioned schema of the history database, applied at start-up; the same SQL runs on PostgreSQL and SQLite."""

from __future__ import annotations

import time

from .sql_database import SQLDatabase

# Append only: a released version's statements never change, a new version is a new entry.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: conversations and their turns
    (
        "CREATE TABLE conversations (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL,"
        " agent TEXT NOT NULL, language TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,"
        " updated_at DOUBLE PRECISION NOT NULL, turn_count INTEGER NOT NULL)",
        "CREATE INDEX conversations_by_user ON conversations (user_id, device_id, updated_at)",
        "CREATE TABLE turns (conversation_id TEXT NOT NULL REFERENCES conversations (id), seq INTEGER NOT NULL,"
        " user_text TEXT NOT NULL, assistant_text TEXT NOT NULL, tool_calls TEXT NOT NULL,"
        " created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (conversation_id, seq))",
    ),
    # 2: each turn keeps who and what handled it, its timings and a trace id
    (
        "ALTER TABLE turns ADD COLUMN agent TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE turns ADD COLUMN device_id TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE turns ADD COLUMN language TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE turns ADD COLUMN timings TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE turns ADD COLUMN trace_id TEXT NOT NULL DEFAULT ''",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


async def schema_version(database: SQLDatabase) -> int:
    """The highest applied version; 0 for an empty database."""
    async with database.transaction() as tx:
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            " applied_at DOUBLE PRECISION NOT NULL)"
        )
        rows = await tx.fetch("SELECT MAX(version) AS version FROM schema_migrations")
    return int(rows[0]["version"] or 0)


async def migrate(database: SQLDatabase, target: int = SCHEMA_VERSION) -> int:
    """Applies each missing version up to ``target`` in its own transaction; returns the version reached."""
    current = await schema_version(database)
    for version in range(current + 1, target + 1):
        async with database.transaction() as tx:
            for statement in MIGRATIONS[version - 1]:
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", version, time.time()
            )
    return max(current, target)
