"""Long-running parts of the backend besides the HTTP API (Wyoming servers, engine supervisors, model loaders)."""

from __future__ import annotations

from typing import Protocol


class BackgroundService(Protocol):
    """Runs until cancelled; raising ends the backend with an error, so only fatal problems may escape."""

    name: str

    async def run(self) -> None:
        """Serves or supervises until cancelled, cleaning up what it started."""
        ...
