"""Wires the voice half into a runtime: engine loaders, the services over them, and the two Wyoming servers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wyoming.server import HandlerFactory

from havencore_backend.components import ComponentState, ComponentStatus
from havencore_backend.engines.stt import Transcriber
from havencore_backend.engines.tts import Synthesizer
from havencore_backend.settings import Settings

from . import model_paths
from .loader import EngineLoader
from .speech_to_text import SpeechToText
from .text_to_speech import TextToSpeech, parse_voice_map
from .wyoming_server import WyomingService
from .wyoming_stt import stt_handler_factory
from .wyoming_tts import tts_handler_factory

if TYPE_CHECKING:
    from havencore_backend.runtime import BackendRuntime

ROLE_ROUTES = {"stt": "transcriptions", "tts": "speech"}  # capability names of the OpenAI audio routes


@dataclass(frozen=True, slots=True)
class VoiceServices:
    """The speech services the protocol adapters share; ``None`` where no model is configured."""

    stt: SpeechToText | None
    tts: TextToSpeech | None
    upload_limit_bytes: int


# Engines import inside their loaders: the heavy libraries load in the loader's thread, and only the chosen one.
def _load_whisper(settings: Settings, model: str) -> Transcriber:
    from havencore_backend.engines.whisper_transcriber import WhisperConfig, WhisperTranscriber

    return WhisperTranscriber(
        WhisperConfig(
            model=model,
            download_dir=settings.data_dir / "models" / "whisper",
            device=settings.stt_device,
            compute_type=settings.stt_compute_type,
            language=settings.stt_language,
            beam_size=settings.stt_beam_size,
            vad_filter=settings.stt_vad_filter,
            initial_prompt=settings.stt_initial_prompt,
        )
    )


def _load_synthesizer(settings: Settings, model: Path) -> Synthesizer:
    use_cuda = settings.tts_device == "cuda"
    if settings.tts_engine == "kokoro":
        from havencore_backend.engines.kokoro_synthesizer import KokoroSynthesizer

        return KokoroSynthesizer(model, language=settings.tts_language, use_cuda=use_cuda)
    from havencore_backend.engines.piper_synthesizer import PiperSynthesizer

    return PiperSynthesizer(model, use_cuda=use_cuda)


def _not_configured(what: str) -> ComponentStatus:
    return ComponentStatus(ComponentState.NOT_CONFIGURED, f"no {what} model set and no packaged one installed")


def _add_role(
    runtime: BackendRuntime, role: str, loader: EngineLoader[Any], wyoming_port: int, handlers: HandlerFactory
) -> None:
    """Registers one role's health probe, loader, Wyoming server and capabilities."""
    runtime.components.register(role, loader.status)
    runtime.services.append(loader)
    runtime.services.append(WyomingService(f"wyoming-{role}", runtime.settings.wyoming_host, wyoming_port, handlers))
    runtime.capabilities.update({role, f"wyoming-{role}", f"openai-{ROLE_ROUTES[role]}"})


def setup_voice(runtime: BackendRuntime) -> VoiceServices:
    """Registers the voice components, capabilities and services of ``runtime``; returns the shared services."""
    settings = runtime.settings
    stt: SpeechToText | None = None
    tts: TextToSpeech | None = None

    stt_model = model_paths.stt_model(settings)
    if stt_model is None:
        runtime.components.register("stt", lambda: _not_configured("speech-to-text"))
    else:
        stt_loader = EngineLoader[Transcriber](
            "stt", lambda: _load_whisper(settings, stt_model), f"faster-whisper {stt_model}"
        )
        stt = SpeechToText(stt_loader)
        _add_role(runtime, "stt", stt_loader, settings.wyoming_stt_port, stt_handler_factory(stt))

    tts_model = model_paths.tts_model(settings)
    if tts_model is None:
        runtime.components.register("tts", lambda: _not_configured("text-to-speech"))
    else:
        tts_loader = EngineLoader[Synthesizer](
            "tts", lambda: _load_synthesizer(settings, tts_model), f"{settings.tts_engine} {tts_model}"
        )
        tts = TextToSpeech(
            tts_loader,
            default_voice=settings.tts_voice,
            speed=settings.tts_speed,
            max_chars=settings.tts_max_chars,
            openai_voices=parse_voice_map(settings.openai_voices),
        )
        _add_role(runtime, "tts", tts_loader, settings.wyoming_tts_port, tts_handler_factory(tts))

    return VoiceServices(stt=stt, tts=tts, upload_limit_bytes=settings.audio_upload_limit_mb * 1024 * 1024)
