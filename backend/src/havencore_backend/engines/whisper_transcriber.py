"""Speech-to-text with faster-whisper (CTranslate2 Whisper models)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from numpy.typing import NDArray

from .stt import STT_SAMPLE_RATE, TranscriptionInfo, TranscriptionOptions, TranscriptSegment

_LOGGER = logging.getLogger(__name__)

# Whisper pads every window to 30 s (3000 mel frames), but the CTranslate2 encoder takes shorter input, and its cost
# grows with the length: a 2 s command is encoded with 10 s of context instead. Below ~10 s Whisper starts to repeat
# itself (measured on tiny.en: 5 loops in 26 commands with 5 s, none with 10 s); a decoding that still loops is
# redone with the full 30 s. Timestamps need the full window: with less, end times overshoot the audio.
SHORT_CONTEXT_FRAMES = 1000  # 10 s of 10 ms mel frames
_FULL_CONTEXT_FRAMES = 3000
_LOOP_COMPRESSION_RATIO = 2.4  # faster-whisper's own threshold for a repetitive decoding
_DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


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


class _ShortContextWhisperModel(WhisperModel):  # type: ignore[misc]
    """Encodes only the audio of a window plus padding up to ``context_frames``, when that is set."""

    context_frames: int | None = None

    def encode(self, features: NDArray[np.float32]) -> Any:
        if self.context_frames is not None:
            batch = features if features.ndim == 3 else features[np.newaxis]
            # pad_or_trim pads the features with exact zeros, which no frame of real audio is.
            content = np.flatnonzero(np.any(batch[0] != 0, axis=0))
            end = int(content[-1]) + 1 if content.size else 0
            features = np.ascontiguousarray(batch[..., : max(self.context_frames, end)])
        return super().encode(features)


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
        self._model = _ShortContextWhisperModel(
            source, device=config.device, compute_type=config.compute_type, download_root=str(config.download_dir)
        )
        self.languages: tuple[str, ...] = (
            tuple(self._model.supported_languages) if self._model.model.is_multilingual else ("en",)
        )

    def transcribe(
        self, audio: NDArray[np.float32], options: TranscriptionOptions
    ) -> tuple[TranscriptionInfo, Iterator[TranscriptSegment]]:
        """Starts decoding; language detection (when no language is fixed) happens here, before any segment."""
        if not options.timestamps and audio.size < (SHORT_CONTEXT_FRAMES - 100) * STT_SAMPLE_RATE // 100:
            info, segments = self._decode(audio, options, SHORT_CONTEXT_FRAMES)
            decoded = list(segments)
            if all(segment.compression_ratio <= _LOOP_COMPRESSION_RATIO for segment in decoded):
                return info, iter(decoded)
            _LOGGER.debug("short-context decoding repeated itself; decoding again with 30 s of context")
        return self._decode(audio, options, None)

    def _decode(
        self, audio: NDArray[np.float32], options: TranscriptionOptions, context_frames: int | None
    ) -> tuple[TranscriptionInfo, Iterator[TranscriptSegment]]:
        config = self._config
        language = options.language or config.language or None
        # An English-only model cannot decode another language; a multilingual one detects instead of failing.
        if language is not None and language not in self.languages:
            language = None if len(self.languages) > 1 else self.languages[0]
        temperature: float | tuple[float, ...] = (
            options.temperature if options.temperature is not None else _DEFAULT_TEMPERATURES
        )
        self._model.context_frames = context_frames
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=config.beam_size,
            vad_filter=config.vad_filter,
            initial_prompt=options.prompt or config.initial_prompt or None,
            without_timestamps=not options.timestamps,
            # A short-context attempt that loops is redone with full context, not at a higher temperature.
            temperature=0.0 if context_frames is not None and options.temperature is None else temperature,
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
