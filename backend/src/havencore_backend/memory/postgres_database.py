"""PostgreSQL through an asyncpg pool, for the add-on's database server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from .sql_database import Row


class _PostgresTransaction:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, *args: Any) -> None:
        await self._connection.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(record) for record in await self._connection.fetch(sql, *args)]


class PostgresDatabase:
    """A small pool, so concurrent conversations write in parallel."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        parts = urlsplit(url)
        self.description = f"PostgreSQL {parts.hostname}:{parts.port or 5432}{parts.path}"  # no password

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        """Connects; raises ``OSError`` or an asyncpg error when the server cannot be used."""
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4, timeout=10)
        return cls(pool, url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTransaction]:
        """A pooled connection inside ``BEGIN`` ... ``COMMIT``."""
        async with self._pool.acquire() as connection, connection.transaction():
            yield _PostgresTransaction(connection)

    async def close(self) -> None:
        """Closes every pooled connection."""
        await self._pool.close()
