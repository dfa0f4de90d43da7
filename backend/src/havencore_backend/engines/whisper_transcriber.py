"""Speech-to-text with faster-whisper (CTranslate2 Whisper models)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from numpy.typing import NDArray

from .stt import TranscriptionInfo, TranscriptionOptions, TranscriptSegment

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WhisperConfig:
    """How to load and run a Whisper model."""

    model: str  # a local CTranslate2 folder or a Hugging Face id
    download_dir: Path
    device: str = "cpu"
    compute_type: str = "int8"
    language: str = ""  # empty: detect
    beam_size: int = 1
    vad_filter: bool = False
    initial_prompt: str = ""


class WhisperTranscriber:
    """A faster-whisper model; ``transcribe`` decodes lazily, segment by segment."""

    def __init__(self, config: WhisperConfig) -> None:
        self._config = config
        local = Path(config.model).expanduser()
        if local.is_dir():
            self.model_name = local.name
            source = str(local)
        else:
            self.model_name = config.model
            source = config.model
            _LOGGER.info("Whisper model %s: downloading (once) into %s", config.model, config.download_dir)
        self._model = WhisperModel(
            source, device=config.device, compute_type=config.compute_type, download_root=str(config.download_dir)
        )
        self.languages: tuple[str, ...] = (
            tuple(self._model.supported_languages) if self._model.model.is_multilingual else ("en",)
        )

    def transcribe(
        self, audio: NDArray[np.float32], options: TranscriptionOptions
    ) -> tuple[TranscriptionInfo, Iterator[TranscriptSegment]]:
        """Starts decoding; language detection (when no language is fixed) happens here, before any segment."""
        config = self._config
        language = options.language or config.language or None
        # An English-only model cannot decode another language; a multilingual one detects instead of failing.
        if language is not None and language not in self.languages:
            language = None if len(self.languages) > 1 else self.languages[0]
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=config.beam_size,
            vad_filter=config.vad_filter,
            initial_prompt=options.prompt or config.initial_prompt or None,
            without_timestamps=not options.timestamps,
            temperature=options.temperature if options.temperature is not None else [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
        )
        transcription = TranscriptionInfo(
            language=info.language, language_probability=info.language_probability, duration=info.duration
        )
        return transcription, (
            TranscriptSegment(
                start=segment.start,
                end=segment.end,
                text=segment.text,
                tokens=tuple(segment.tokens),
                temperature=segment.temperature or 0.0,
                avg_logprob=segment.avg_logprob,
                compression_ratio=segment.compression_ratio,
                no_speech_prob=segment.no_speech_prob,
            )
            for segment in segments
        )
