"""SQLite through aiosqlite: the embedded default for conversation history."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from .sql_database import Row

_POSITIONAL = re.compile(r"\$(\d+)")


class _SQLiteTransaction:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, *args: Any) -> None:
        await self._connection.execute(_POSITIONAL.sub(r"?\1", sql), args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._connection.execute(_POSITIONAL.sub(r"?\1", sql), args) as cursor:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]


class SQLiteDatabase:
    """One WAL-mode connection; transactions take turns, since SQLite has a single writer anyway."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self.description = f"SQLite {path}"

    @classmethod
    async def open(cls, path: Path) -> SQLiteDatabase:
        """Opens (creating) the database file; committed transactions survive a killed process."""
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process, not power loss
            await connection.execute("PRAGMA foreign_keys=ON")
        except BaseException:  # cancelled at start-up too: its worker thread would keep the process from exiting
            await connection.close()
            raise
        return cls(connection, path)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SQLiteTransaction]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` when the block raises."""
        async with self._lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTransaction(self._connection)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    async def close(self) -> None:
        """Closes the connection."""
        await self._connection.close()
