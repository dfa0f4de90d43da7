"""The little of a SQL database the history store needs, so PostgreSQL and SQLite share every query."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

type Row = dict[str, Any]


class SQLTransaction(Protocol):
    """Statements inside one transaction; parameters are written ``$1, $2, ...`` for both databases."""

    async def execute(self, sql: str, *args: Any) -> None:
        """Runs a statement that returns no rows."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Runs a query and returns its rows as dicts."""
        ...


class SQLDatabase(Protocol):
    """A connected database; every unit of work is one transaction, committed on exit, rolled back on error."""

    description: str

    def transaction(self) -> AbstractAsyncContextManager[SQLTransaction]:
        """A transaction that commits when the block ends and rolls back when it raises."""
        ...

    async def close(self) -> None:
        """Closes the connections."""
        ...
