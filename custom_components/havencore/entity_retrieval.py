"""Picks the exposed entities relevant to a request by embedding search, so big homes keep a small prompt.

Each entity's description (names, areas, domain) is embedded once by the backend's embeddings model and kept by a
hash of its text: a renamed entity, a new alias or a moved area changes the text and is embedded again, and
entities that are gone drop out of the cache.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from .api import HavenCoreClient
from .const import EMBEDDINGS_BATCH
from .vocabulary import ExposedEntity


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _normalized(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


def _similarity(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class EntityIndex:
    """Embeddings of exposed entities' descriptions, cached by text, searched by cosine similarity."""

    def __init__(self, client: HavenCoreClient, model: str) -> None:
        self._client = client
        self._model = model
        self._vectors: dict[str, list[float]] = {}

    async def _async_vectors(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors of ``texts``; only texts not seen before go to the backend."""
        keys = [_key(text) for text in texts]
        missing = list(dict.fromkeys(text for text, key in zip(texts, keys, strict=True) if key not in self._vectors))
        for start in range(0, len(missing), EMBEDDINGS_BATCH):
            batch = missing[start : start + EMBEDDINGS_BATCH]
            for text, vector in zip(batch, await self._client.async_embed(self._model, batch), strict=True):
                self._vectors[_key(text)] = _normalized(vector)
        return [self._vectors[key] for key in keys]

    async def async_select(self, entities: Sequence[ExposedEntity], request: str, count: int) -> list[ExposedEntity]:
        """The ``count`` entities closest to the request, plus any the request names outright, in ``entities``'
        order (so the same selection gives the same prompt bytes)."""
        descriptions = [entity.description() for entity in entities]
        vectors = await self._async_vectors(descriptions)
        # Entities that left the home (or were renamed) leave the cache.
        current = {_key(text) for text in descriptions}
        self._vectors = {key: vector for key, vector in self._vectors.items() if key in current}
        (query,) = await self._client.async_embed(self._model, [request])
        query = _normalized(query)
        ranked = sorted(range(len(entities)), key=lambda index: _similarity(vectors[index], query), reverse=True)
        chosen = set(ranked[:count])
        lowered = request.casefold()
        chosen.update(
            index for index, entity in enumerate(entities) if any(name.casefold() in lowered for name in entity.names)
        )
        return [entity for index, entity in enumerate(entities) if index in chosen]
