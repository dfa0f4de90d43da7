"""A real backend serving the memory stores: the packaged embeddings model only (no chat model to load)."""

from __future__ import annotations

from pathlib import Path

from tests.backend.language_models import EMBEDDINGS_MODEL_ID, OFFLINE, wait_for_component
from tests.backend_process import MODELS_DIR, RunningBackend, start_backend


def start_memory_backend(data_dir: Path, api_key: str = "", extra_args: tuple[str, ...] = ()) -> RunningBackend:
    """Starts a backend and waits until its history and memory stores (and the embeddings model) are ok."""
    backend = start_backend(
        data_dir,
        api_key=api_key,
        # The embeddings model only: no packaged chat model to load beside it.
        extra_args=(
            "--embeddings-model",
            str(MODELS_DIR / EMBEDDINGS_MODEL_ID),
            "--models",
            str(data_dir / "no-packaged-models"),
            *extra_args,
        ),
        env=OFFLINE,
    )
    try:
        for component in ("embeddings", "history", "memory"):
            wait_for_component(backend, component, "ok")
    except BaseException:
        backend.stop()
        raise
    return backend
