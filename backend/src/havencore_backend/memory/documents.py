"""Documents for retrieval: chunked, embedded and searched in Qdrant beside the memories."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from qdrant_client import models

from .chunking import chunk_text
from .qdrant import SharedQdrant
from .semantic import Embed

COLLECTION = "documents"
_EMBED_BATCH = 32


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """An ingested document."""

    id: str
    title: str
    media_type: str
    chunks: int
    created_at: float


@dataclass(frozen=True, slots=True)
class Passage:
    """A chunk found by a search, with its cosine similarity to the query."""

    document_id: str
    title: str
    chunk: int
    text: str
    score: float


def _info(payload: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        payload["document_id"], payload["title"], payload["media_type"], payload["chunks"], payload["created_at"]
    )


def _document_filter(document_id: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="document_id", match=models.MatchValue(value=document_id))])


class QdrantDocumentStore:
    """One Qdrant point per chunk; every point carries its document's id, title, media type and chunk count."""

    def __init__(self, qdrant: SharedQdrant, embed: Embed) -> None:
        self._qdrant = qdrant
        self._embed = embed

    def _upsert(self, points: list[models.PointStruct]) -> None:
        self._qdrant.ensure(COLLECTION, len(points[0].vector))  # type: ignore[arg-type]
        self._qdrant.client.upsert(COLLECTION, points, wait=True)

    async def ingest(self, title: str, media_type: str, text: str) -> DocumentInfo:
        """Chunks, embeds and stores a document; raises ``ValueError`` when it holds no text."""
        chunks = chunk_text(text)
        if not chunks:
            raise ValueError("the document has no text")
        info = DocumentInfo(str(uuid.uuid4()), title, media_type, len(chunks), time.time())
        points: list[models.PointStruct] = []
        for start in range(0, len(chunks), _EMBED_BATCH):
            batch = chunks[start : start + _EMBED_BATCH]
            for offset, vector in enumerate(await self._embed(batch)):
                payload = {
                    "document_id": info.id,
                    "title": title,
                    "media_type": media_type,
                    "chunks": info.chunks,
                    "created_at": info.created_at,
                    "chunk": start + offset,
                    "text": batch[offset],
                }
                points.append(models.PointStruct(id=str(uuid.uuid4()), vector=vector.tolist(), payload=payload))
        await self._qdrant.call(self._upsert, points)  # all chunks in one upsert: a document is whole or absent
        return info

    def _first_chunks(self, limit: int) -> list[DocumentInfo]:
        if not self._qdrant.has(COLLECTION):
            return []
        first = models.Filter(must=[models.FieldCondition(key="chunk", match=models.MatchValue(value=0))])
        points, _ = self._qdrant.client.scroll(COLLECTION, scroll_filter=first, limit=limit, with_payload=True)
        return sorted((_info(point.payload or {}) for point in points), key=lambda info: info.created_at)

    async def list_documents(self, limit: int = 1000) -> list[DocumentInfo]:
        """Ingested documents, oldest first."""
        return await self._qdrant.call(self._first_chunks, limit)

    def _delete(self, document_id: str) -> bool:
        if not self._qdrant.has(COLLECTION):
            return False
        document = _document_filter(document_id)
        if self._qdrant.client.count(COLLECTION, count_filter=document, exact=True).count == 0:
            return False
        self._qdrant.client.delete(COLLECTION, points_selector=models.FilterSelector(filter=document), wait=True)
        return True

    async def delete(self, document_id: str) -> bool:
        """Deletes a document's chunks; ``False`` when there was no such document."""
        return await self._qdrant.call(self._delete, document_id)

    def _search(self, vector: list[float], limit: int) -> list[Passage]:
        if not self._qdrant.has(COLLECTION):
            return []
        points = self._qdrant.client.query_points(COLLECTION, query=vector, limit=limit, with_payload=True).points
        return [
            Passage(p["document_id"], p["title"], p["chunk"], p["text"], point.score)
            for point in points
            if (p := point.payload or {})
        ]

    async def search(self, query: str, limit: int = 5) -> list[Passage]:
        """The passages closest in meaning to ``query``, best first."""
        vector = (await self._embed([query]))[0].tolist()
        return await self._qdrant.call(self._search, vector, limit)
