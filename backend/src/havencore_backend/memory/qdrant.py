"""The one Qdrant client of the backend, shared by the memory and document stores."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from qdrant_client import QdrantClient, models

from havencore_backend.settings import Settings


def open_qdrant(settings: Settings) -> QdrantClient:
    """A client of the Qdrant server, or of local mode in the data dir (blocking: local mode loads the points)."""
    if settings.qdrant_url:
        return QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key or None)
    return QdrantClient(path=str(settings.data_dir / "qdrant"))


class SharedQdrant:
    """Runs blocking client calls in a worker thread, one at a time: local mode is not thread-safe and
    allows a single client per store, so both stores go through this one."""

    def __init__(self, client: QdrantClient) -> None:
        self.client = client
        self._lock = asyncio.Lock()

    async def call[T](self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread, under the lock."""
        async with self._lock:
            return await asyncio.to_thread(function, *args)

    def has(self, collection: str) -> bool:
        """Whether ``collection`` exists (blocking)."""
        return self.client.collection_exists(collection)

    def ensure(self, collection: str, size: int) -> None:
        """Creates a cosine collection of ``size``-d vectors unless it exists (blocking)."""
        if not self.client.collection_exists(collection):
            self.client.create_collection(
                collection, vectors_config=models.VectorParams(size=size, distance=models.Distance.COSINE)
            )

    async def close(self) -> None:
        """Releases the client (local mode holds a lock on the store)."""
        await self.call(self.client.close)
