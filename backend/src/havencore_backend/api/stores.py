"""What the memory and document routers share: reaching the stores and saying why one is unavailable."""

from __future__ import annotations

from fastapi import Request

from havencore_backend.components import StatusProbe
from havencore_backend.memory.stores import MemoryStores
from havencore_backend.runtime import BackendRuntime

from .errors import APIError


def memory_stores(request: Request) -> MemoryStores:
    """The runtime's memory stores (always installed)."""
    runtime: BackendRuntime = request.app.state.runtime
    assert runtime.memory is not None
    return runtime.memory


def available[T](store: T | None, what: str, status: StatusProbe) -> T:
    """``store``, or a 503 saying why it is not there (still opening, failed, or not configured)."""
    if store is None:
        message = f"The {what} is not available: {status().detail}"
        raise APIError(503, message, error_type="server_error", code="store_unavailable")
    return store


def model_unavailable(err: Exception) -> APIError:
    """A 503 for a request that needs the embeddings model while it is not loaded."""
    return APIError(503, str(err), error_type="server_error", code="model_unavailable")
