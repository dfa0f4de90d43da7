"""Sentence embeddings with sentence-transformers on GPU hosts (the optional ``gpu-embeddings`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine import Vectors


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by id or path; uses CUDA when torch sees a GPU."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import SentenceTransformer  # optional extra, imported only when chosen

        self._model: Any = SentenceTransformer(model)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text."""
        vectors = self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)
