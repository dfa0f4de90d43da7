"""Everything a running backend holds: settings, identity and the registry of its components."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import __version__
from .components import ComponentRegistry, data_dir_probe
from .instance import load_or_create_instance_id
from .language_models import install_language_models
from .memory.stores import install_memory
from .services import BackgroundService
from .settings import Settings
from .voice.setup import VoiceServices, setup_voice

if TYPE_CHECKING:
    from .embeddings.engine import EmbeddingsModel
    from .llm.chat import ChatService
    from .memory.stores import MemoryStores


@dataclass(slots=True)
class BackendRuntime:
    """The backend's shared state, created once at start-up and handed to every protocol adapter."""

    settings: Settings
    instance_id: str
    version: str = __version__
    components: ComponentRegistry = field(default_factory=ComponentRegistry)
    capabilities: set[str] = field(default_factory=set)
    services: list[BackgroundService] = field(default_factory=list)
    voice: VoiceServices | None = None
    chat: ChatService | None = None  # None when no chat model is configured
    embeddings: EmbeddingsModel | None = None
    memory: MemoryStores | None = None  # set by install_memory

    @classmethod
    def create(cls, settings: Settings) -> BackendRuntime:
        """Prepares the data dir and identity; raises ``OSError`` when the data dir cannot be used."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        runtime = cls(settings=settings, instance_id=load_or_create_instance_id(settings.data_dir))
        runtime.components.register("data_dir", data_dir_probe(settings.data_dir))
        runtime.voice = setup_voice(runtime)
        install_language_models(runtime)
        install_memory(runtime)
        return runtime
