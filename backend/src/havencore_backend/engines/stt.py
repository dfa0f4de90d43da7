"""The speech-to-text interface every transcription engine implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

STT_SAMPLE_RATE = 16000
"""Engines take mono float32 audio in [-1, 1] at this rate."""


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    """Per-request choices; ``None`` means the engine's configured default."""

    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    timestamps: bool = True  # segment times; without them decoding needs fewer tokens


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    """One decoded stretch of speech."""

    start: float
    end: float
    text: str
    tokens: tuple[int, ...] = ()
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True, slots=True)
class TranscriptionInfo:
    """What is known before the first segment: the (detected) language and the audio's length."""

    language: str
    language_probability: float
    duration: float


class Transcriber(Protocol):
    """A loaded speech-to-text model. Its methods block and are not thread-safe: callers serialise them."""

    model_name: str
    languages: tuple[str, ...]

    def transcribe(
        self, audio: NDArray[np.float32], options: TranscriptionOptions
    ) -> tuple[TranscriptionInfo, Iterator[TranscriptSegment]]:
        """Starts decoding ``audio`` (mono, ``STT_SAMPLE_RATE``); segments are decoded as the iterator advances."""
        ...
