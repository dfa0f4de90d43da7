"""The interface every embeddings engine implements, and the loader they share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from havencore_backend.components import ComponentState, ComponentStatus

_LOGGER = logging.getLogger(__name__)

type Vectors = npt.NDArray[np.float32]


class EmbeddingsUnavailableError(Exception):
    """The embeddings model is not loaded (yet, or it failed to load)."""


class TextEmbedder(Protocol):
    """Turns texts into unit-length vectors; blocking, so callers run it in a thread."""

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per text."""
        ...


class Loader(Protocol):
    """Builds an embedder (blocking: reads model files)."""

    def __call__(self) -> TextEmbedder: ...


class EmbeddingsModel:
    """A named embeddings model loaded in the background; the service /v1/embeddings uses."""

    name = "embeddings-loader"

    def __init__(self, model_id: str, loader: Loader) -> None:
        self.model_id = model_id
        self._loader = loader
        self._embedder: TextEmbedder | None = None
        self._status = ComponentStatus(ComponentState.LOADING, f"loading {model_id}")
        self._lock = asyncio.Lock()  # one batch at a time: the runtime already uses every core

    def status(self) -> ComponentStatus:
        """LOADING, then OK or ERROR with the reason."""
        return self._status

    async def run(self) -> None:
        """Loads the model off the event loop, then stays until cancelled."""
        try:
            self._embedder = await asyncio.to_thread(self._loader)
        except Exception as err:  # a broken model is reported in /health, not fatal to the backend
            self._status = ComponentStatus(ComponentState.ERROR, f"cannot load {self.model_id}: {err}")
            _LOGGER.error("embeddings: %s", self._status.detail)
        else:
            self._status = ComponentStatus(ComponentState.OK, self.model_id)
        await asyncio.Event().wait()

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embeds ``texts`` in a worker thread."""
        embedder = self._embedder
        if embedder is None:
            raise EmbeddingsUnavailableError(f"The embeddings model is not available: {self._status.detail}")
        async with self._lock:
            return await asyncio.to_thread(embedder.embed, texts)
