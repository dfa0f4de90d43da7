"""Health of the backend's parts, as reported by ``GET /health``; engines and stores register here as they start."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class ComponentState(StrEnum):
    """State of one part of the backend."""

    OK = "ok"
    LOADING = "loading"
    ERROR = "error"
    NOT_CONFIGURED = "not_configured"  # optional part with no model set up: not a failure


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """What ``/health`` shows for one component."""

    state: ComponentState
    detail: str = ""


type StatusProbe = Callable[[], ComponentStatus]


class ComponentRegistry:
    """Named probes evaluated on every health request, so the answer is always current."""

    def __init__(self) -> None:
        self._probes: dict[str, StatusProbe] = {}

    def register(self, name: str, probe: StatusProbe) -> None:
        """Adds a component; its probe must be cheap and must not block."""
        self._probes[name] = probe

    def snapshot(self) -> dict[str, ComponentStatus]:
        """Current status of every component."""
        return {name: probe() for name, probe in self._probes.items()}


def data_dir_probe(data_dir: Path) -> StatusProbe:
    """A probe that reports whether the data dir is still a writable directory."""

    def probe() -> ComponentStatus:
        if not data_dir.is_dir():
            return ComponentStatus(ComponentState.ERROR, f"{data_dir} is missing")
        if not os.access(data_dir, os.W_OK):
            return ComponentStatus(ComponentState.ERROR, f"{data_dir} is not writable")
        return ComponentStatus(ComponentState.OK)

    return probe
