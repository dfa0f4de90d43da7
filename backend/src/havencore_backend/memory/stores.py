"""Opens the history database (migrating it) and the memory store at start-up, and reports their health."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from havencore_backend.components import ComponentState, ComponentStatus
from havencore_backend.settings import Settings

from .documents import QdrantDocumentStore
from .migrations import migrate
from .postgres_database import PostgresDatabase
from .qdrant import SharedQdrant, open_qdrant
from .semantic import QdrantMemoryStore
from .sql_database import SQLDatabase
from .sql_history import SQLHistoryStore
from .sqlite_database import SQLiteDatabase

if TYPE_CHECKING:
    from havencore_backend.embeddings.engine import EmbeddingsModel
    from havencore_backend.runtime import BackendRuntime

_LOGGER = logging.getLogger(__name__)


async def open_history_database(settings: Settings) -> SQLDatabase:
    """PostgreSQL when ``database_url`` is set, else SQLite in the data dir; migrated to the current schema."""
    database: SQLDatabase = (
        await PostgresDatabase.open(settings.database_url)
        if settings.database_url
        else await SQLiteDatabase.open(settings.data_dir / "history.sqlite3")
    )
    try:
        await migrate(database)
    except BaseException:
        await database.close()
        raise
    return database


class MemoryStores:
    """The background service that holds the history, memory and document stores while the backend runs."""

    name = "memory-stores"

    def __init__(self, settings: Settings, embeddings: EmbeddingsModel | None) -> None:
        self._settings = settings
        self._embeddings = embeddings
        self.history: SQLHistoryStore | None = None
        self.memories: QdrantMemoryStore | None = None
        self.documents: QdrantDocumentStore | None = None
        self._qdrant: SharedQdrant | None = None
        self._history_status = ComponentStatus(ComponentState.LOADING, "opening the history database")
        self._memory_status = (
            ComponentStatus(ComponentState.LOADING, "opening the memory store")
            if embeddings is not None
            else ComponentStatus(ComponentState.NOT_CONFIGURED, "no embeddings model: set embeddings_model")
        )

    def history_status(self) -> ComponentStatus:
        """LOADING, then OK with the database, or ERROR with the reason."""
        return self._history_status

    def memory_status(self) -> ComponentStatus:
        """LOADING, then OK, ERROR or NOT_CONFIGURED (memories and documents need the embeddings model)."""
        return self._memory_status

    async def _open_history(self) -> None:
        try:
            database = await open_history_database(self._settings)
        except Exception as err:  # reported in /health; the rest of the backend keeps serving
            self._history_status = ComponentStatus(ComponentState.ERROR, f"cannot open the history database: {err}")
            _LOGGER.error("history: %s", self._history_status.detail)
            return
        self.history = SQLHistoryStore(database)
        self._history_status = ComponentStatus(ComponentState.OK, database.description)

    async def _open_memories(self) -> None:
        if self._embeddings is None:
            return
        try:
            client = await asyncio.to_thread(open_qdrant, self._settings)
        except Exception as err:  # e.g. another process holds the local store
            self._memory_status = ComponentStatus(ComponentState.ERROR, f"cannot open the memory store: {err}")
            _LOGGER.error("memory: %s", self._memory_status.detail)
            return
        self._qdrant = SharedQdrant(client)
        self.memories = QdrantMemoryStore(self._qdrant, self._embeddings.embed)
        self.documents = QdrantDocumentStore(self._qdrant, self._embeddings.embed)
        self._memory_status = ComponentStatus(ComponentState.OK, f"Qdrant {self._settings.qdrant_url or 'local mode'}")

    async def run(self) -> None:
        """Opens both stores, then holds them until cancelled and closes them."""
        try:
            await self._open_history()
            await self._open_memories()
            await asyncio.Event().wait()
        finally:
            if self.history is not None:
                await self.history.database.close()
            if self._qdrant is not None:
                await self._qdrant.close()


def install_memory(runtime: BackendRuntime) -> None:
    """Adds the memory stores service with its two health components and capabilities."""
    stores = MemoryStores(runtime.settings, runtime.embeddings)
    runtime.memory = stores
    runtime.services.append(stores)
    runtime.components.register("history", stores.history_status)
    runtime.components.register("memory", stores.memory_status)
    runtime.capabilities.update({"history", "memory", "documents"} if runtime.embeddings is not None else {"history"})
