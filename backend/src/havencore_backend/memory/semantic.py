"""Semantic memory: facts and preferences per user, embedded and searched in Qdrant (a server or local mode)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qdrant_client import models

from havencore_backend.embeddings.engine import Vectors

from .qdrant import SharedQdrant

COLLECTION = "memories"

type Embed = Callable[[Sequence[str]], Awaitable[Vectors]]


@dataclass(frozen=True, slots=True)
class Memory:
    """One remembered fact or preference of one user."""

    id: str
    user_id: str
    kind: str
    text: str
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class MemoryMatch:
    """A memory found by a search, with its cosine similarity to the query."""

    memory: Memory
    score: float


def _memory(point_id: Any, payload: dict[str, Any] | None) -> Memory:
    data = payload or {}
    return Memory(
        id=str(point_id),
        user_id=data["user_id"],
        kind=data["kind"],
        text=data["text"],
        created_at=data["created_at"],
        updated_at=data["updated_at"],
    )


def _filter(
    user_id: str | None = None, kind: str | None = None, since: float | None = None, until: float | None = None
) -> models.Filter:
    must: list[models.Condition] = []
    if user_id is not None:
        must.append(models.FieldCondition(key="user_id", match=models.MatchValue(value=user_id)))
    if kind is not None:
        must.append(models.FieldCondition(key="kind", match=models.MatchValue(value=kind)))
    if since is not None or until is not None:
        must.append(models.FieldCondition(key="created_at", range=models.Range(gte=since, lte=until)))
    return models.Filter(must=must)


class QdrantMemoryStore:
    """Memories as Qdrant points (cosine) with their user, kind, text and times as payload."""

    def __init__(self, qdrant: SharedQdrant, embed: Embed) -> None:
        self._qdrant = qdrant
        self._client = qdrant.client
        self._call = qdrant.call
        self._embed = embed

    async def _vector(self, text: str) -> list[float]:
        vectors = await self._embed([text])
        return [float(value) for value in vectors[0]]

    def _upsert(self, memory: Memory, vector: list[float]) -> None:
        self._qdrant.ensure(COLLECTION, len(vector))
        payload = {
            "user_id": memory.user_id,
            "kind": memory.kind,
            "text": memory.text,
            "created_at": memory.created_at,
            "updated_at": memory.updated_at,
        }
        self._client.upsert(COLLECTION, [models.PointStruct(id=memory.id, vector=vector, payload=payload)], wait=True)

    async def add(self, user_id: str, kind: str, text: str) -> Memory:
        """Embeds and stores a new memory."""
        now = time.time()
        memory = Memory(str(uuid.uuid4()), user_id, kind, text, now, now)
        await self._call(self._upsert, memory, await self._vector(text))
        return memory

    def _search(self, vector: list[float], query_filter: models.Filter, limit: int) -> list[MemoryMatch]:
        if not self._qdrant.has(COLLECTION):
            return []
        points = self._client.query_points(
            COLLECTION, query=vector, query_filter=query_filter, limit=limit, with_payload=True
        ).points
        return [MemoryMatch(_memory(point.id, point.payload), point.score) for point in points]

    async def search(
        self,
        user_id: str,
        query: str,
        limit: int = 5,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[MemoryMatch]:
        """The user's memories closest in meaning to ``query``, best first."""
        vector = await self._vector(query)
        return await self._call(self._search, vector, _filter(user_id, kind, since, until), limit)

    def _scroll(self, scroll_filter: models.Filter, limit: int, offset: str | None) -> tuple[list[Memory], str | None]:
        if not self._qdrant.has(COLLECTION):
            return [], None
        points, next_offset = self._client.scroll(
            COLLECTION, scroll_filter=scroll_filter, limit=limit, offset=offset, with_payload=True
        )
        return [_memory(point.id, point.payload) for point in points], (
            None if next_offset is None else str(next_offset)
        )

    async def list(
        self, user_id: str, kind: str | None = None, limit: int = 100, offset: str | None = None
    ) -> tuple[list[Memory], str | None]:
        """A page of the user's memories (in id order) and the offset of the next page, if any."""
        return await self._call(self._scroll, _filter(user_id, kind), limit, offset)

    def _retrieve(self, memory_id: str) -> Memory | None:
        if not self._qdrant.has(COLLECTION):
            return None
        points = self._client.retrieve(COLLECTION, [memory_id], with_payload=True)
        return _memory(points[0].id, points[0].payload) if points else None

    async def get(self, memory_id: str) -> Memory | None:
        """One memory by id, or ``None``."""
        return await self._call(self._retrieve, memory_id)

    async def update(self, memory_id: str, text: str | None = None, kind: str | None = None) -> Memory | None:
        """Changes a memory's text (re-embedding it) or kind; ``None`` when there is no such memory."""
        current = await self.get(memory_id)
        if current is None:
            return None
        updated = Memory(
            current.id, current.user_id, kind or current.kind, text or current.text, current.created_at, time.time()
        )
        await self._call(self._upsert, updated, await self._vector(updated.text))
        return updated

    def _delete(self, selector: models.PointIdsList | models.FilterSelector) -> None:
        if self._qdrant.has(COLLECTION):
            self._client.delete(COLLECTION, points_selector=selector, wait=True)

    async def delete(self, memory_id: str) -> bool:
        """Deletes one memory; ``False`` when there was none."""
        if await self.get(memory_id) is None:
            return False
        await self._call(self._delete, models.PointIdsList(points=[memory_id]))
        return True

    def _count(self, count_filter: models.Filter) -> int:
        if not self._qdrant.has(COLLECTION):
            return 0
        return self._client.count(COLLECTION, count_filter=count_filter, exact=True).count

    async def delete_user(self, user_id: str) -> int:
        """Deletes every memory of a user; returns how many."""
        user_filter = _filter(user_id)
        count = await self._call(self._count, user_filter)
        await self._call(self._delete, models.FilterSelector(filter=user_filter))
        return count
