"""Ranks the exposed entities by relevance to a request, so a home too big to list keeps a small prompt.

Each entity's description (names, areas, domain) is embedded once by the backend's embeddings model and kept by a
hash of its text: a renamed entity, a new alias or a moved area changes the text and is embedded again, and
entities that are gone drop out of the cache. Ranking is one matrix product (numpy), so a home of thousands of
entities costs HA's event loop well under a millisecond per turn. Without an embeddings model, shared words rank.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .action_guard import words
from .api import HavenCoreClient
from .const import EMBEDDINGS_BATCH
from .vocabulary import ExposedEntity

type Vectors = npt.NDArray[np.float32]


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _normalized(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    normalized: Vectors = (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
    return normalized


def named_outright(entities: Sequence[ExposedEntity], request: str) -> list[int]:
    """The indexes of the entities whose whole name the request contains."""
    lowered = request.casefold()
    return [index for index, entity in enumerate(entities) if any(name.casefold() in lowered for name in entity.names)]


def _ranked(scores: Sequence[float] | Vectors, entities: Sequence[ExposedEntity], request: str) -> list[int]:
    """Entity indexes best first: those named outright, then by score (ties in ``entities``' order)."""
    outright = named_outright(entities, request)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    chosen = set(outright)
    return [*outright, *(int(index) for index in order if int(index) not in chosen)]


def lexical_rank(entities: Sequence[ExposedEntity], request: str) -> list[int]:
    """The ranking without an embeddings model: by how many words of the request an entity's description shares."""
    asked = words(request)
    return _ranked([len(words(entity.description()) & asked) for entity in entities], entities, request)


class EntityIndex:
    """Embeddings of exposed entities' descriptions, cached by text, searched by cosine similarity."""

    def __init__(self, client: HavenCoreClient, model: str) -> None:
        self._client = client
        self._model = model
        self._vectors: dict[str, Vectors] = {}

    async def _async_vectors(self, texts: Sequence[str]) -> Vectors:
        """Normalized vectors of ``texts``, one row each; only texts not seen before go to the backend."""
        keys = [_key(text) for text in texts]
        missing = list(dict.fromkeys(text for text, key in zip(texts, keys, strict=True) if key not in self._vectors))
        for start in range(0, len(missing), EMBEDDINGS_BATCH):
            batch = missing[start : start + EMBEDDINGS_BATCH]
            vectors = _normalized(np.asarray(await self._client.async_embed(self._model, batch), dtype=np.float32))
            self._vectors.update((_key(text), vector) for text, vector in zip(batch, vectors, strict=True))
        # Entities that left the home (or were renamed) leave the cache.
        current = set(keys)
        self._vectors = {key: vector for key, vector in self._vectors.items() if key in current}
        return np.stack([self._vectors[key] for key in keys])

    async def async_rank(self, entities: Sequence[ExposedEntity], request: str) -> list[int]:
        """Indexes of ``entities``, best first: those the request names outright, then by similarity."""
        if not entities:
            return []
        vectors = await self._async_vectors([entity.description() for entity in entities])
        (query,) = _normalized(np.asarray(await self._client.async_embed(self._model, [request]), dtype=np.float32))
        return _ranked(vectors @ query, entities, request)
