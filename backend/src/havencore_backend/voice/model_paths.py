"""Which model each voice engine loads: the configured one, else the packaged test/demo model when installed."""

from __future__ import annotations

from pathlib import Path

from havencore_backend.settings import Settings

PACKAGED_WHISPER = "whisper-tiny.en"
PACKAGED_TTS = {"piper": "piper-en_US-joe-medium", "kokoro": "kokoro-v1.0-int8"}
COMPLETE_MARKER = ".complete"  # written by scripts/install_models.py once a model is fully assembled


def _packaged(settings: Settings, name: str) -> Path | None:
    folder = settings.models / name
    return folder if (folder / COMPLETE_MARKER).is_file() else None


def stt_model(settings: Settings) -> str | None:
    """A Hugging Face id or a local folder, or ``None`` when speech-to-text is not configured."""
    if settings.stt_model:
        return settings.stt_model
    packaged = _packaged(settings, PACKAGED_WHISPER)
    return str(packaged) if packaged else None


def tts_model(settings: Settings) -> Path | None:
    """A model file or folder for ``settings.tts_engine``, or ``None`` when text-to-speech is not configured."""
    if settings.tts_model:
        return Path(settings.tts_model).expanduser()
    return _packaged(settings, PACKAGED_TTS[settings.tts_engine])
