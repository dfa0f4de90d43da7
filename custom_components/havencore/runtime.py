"""What a loaded HavenCore entry holds at run time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from wyoming.info import Info

from .api import BackendInfo, HavenCoreClient
from .availability import BackendAvailability


@dataclass(slots=True)
class HavenCoreRuntimeData:
    """The backend client, what the backend said about itself, and its reachability."""

    client: HavenCoreClient
    info: BackendInfo
    availability: BackendAvailability
    # The backend's default chat model, used by subentries that leave the model empty.
    default_model: str
    # What the backend's Wyoming servers describe; None when the backend has no speech servers.
    stt_info: Info | None
    tts_info: Info | None
    # The latest failed backend request, for diagnostics: ``{"time": ..., "kind": "backend_busy", "detail": ...}``.
    last_error: dict[str, Any] | None = None


type HavenCoreConfigEntry = ConfigEntry[HavenCoreRuntimeData]
