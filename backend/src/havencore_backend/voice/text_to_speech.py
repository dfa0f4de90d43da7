"""The text-to-speech service both protocols use: voice choice, sentence-by-sentence synthesis, one model lock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterable, AsyncIterator

import numpy as np
from numpy.typing import NDArray

from havencore_backend.engines.tts import Synthesizer

from .loader import EngineLoader
from .sentences import speech_pieces

OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "cedar",
    "coral",
    "echo",
    "fable",
    "marin",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)


class UnknownVoiceError(ValueError):
    """The requested voice is neither a loaded voice nor a mapped OpenAI voice name."""


class TextTooLongError(ValueError):
    """The text exceeds the configured limit."""


def parse_voice_map(spec: str) -> dict[str, str]:
    """``'alloy=jf_alpha, nova=jf_nezumi'`` as a dict (the format is validated with the settings)."""
    pairs = (item.split("=", 1) for item in spec.split(",") if item.strip())
    return {name.strip(): voice.strip() for name, voice in pairs}


class TextToSpeech:
    """Speaks text with the loaded engine; long text is synthesized sentence by sentence so audio starts early."""

    def __init__(
        self,
        loader: EngineLoader[Synthesizer],
        *,
        default_voice: str,
        speed: float,
        max_chars: int,
        openai_voices: dict[str, str],
    ) -> None:
        self._loader = loader
        self._default_voice = default_voice
        self.speed = speed
        self.max_chars = max_chars
        self._openai_voices = openai_voices
        self._lock = threading.Lock()  # held by the worker thread, so a cancelled request cannot free it early

    async def engine(self) -> Synthesizer:
        """The loaded engine (waits while it loads)."""
        return await self._loader.get()

    async def default_voice(self) -> str:
        """The configured default voice, else the model's first."""
        engine = await self._loader.get()
        return self._default_voice or engine.voices[0].name

    async def openai_voice_map(self) -> dict[str, str]:
        """Every OpenAI voice name and the voice it speaks with."""
        default = await self.default_voice()
        return {name: self._openai_voices.get(name, default) for name in OPENAI_VOICES}

    async def resolve_voice(self, requested: str | None) -> str:
        """A loaded voice for ``requested`` (a voice, a mapped OpenAI name or nothing); raises ``UnknownVoiceError``."""
        engine = await self._loader.get()
        known = {voice.name for voice in engine.voices}
        if not requested:
            return await self.default_voice()
        if requested in known:
            return requested
        if requested in OPENAI_VOICES:
            return (await self.openai_voice_map())[requested]
        raise UnknownVoiceError(f"unknown voice {requested!r}; available: {', '.join(sorted(known))}")

    def check_length(self, chars: int) -> None:
        """Raises ``TextTooLongError`` when ``chars`` characters exceed the configured limit."""
        if chars > self.max_chars:
            raise TextTooLongError(f"text is {chars} characters long; the limit is {self.max_chars}")

    async def speak(self, text: str, voice: str, speed: float | None = None) -> NDArray[np.int16]:
        """Synthesizes ``text`` in one call (used for a single sentence)."""
        engine = await self._loader.get()
        rate = self.speed if speed is None else speed

        def synthesize() -> NDArray[np.int16]:
            with self._lock:
                return engine.synthesize(text, voice, rate)

        return await asyncio.to_thread(synthesize)

    async def stream(
        self, sentences: AsyncIterable[str], voice: str, speed: float | None = None
    ) -> AsyncIterator[NDArray[np.int16]]:
        """The samples of each sentence, in order, each as soon as it is synthesized (sentences may still arrive)."""
        async for sentence in sentences:
            samples = await self.speak(sentence, voice, speed)
            if samples.size:
                yield samples

    async def stream_text(self, text: str, voice: str, speed: float | None = None) -> AsyncIterator[NDArray[np.int16]]:
        """``stream`` over ``text`` split into pieces of speech (see ``speech_pieces``); check its length first."""
        async for block in self.stream(_iterate(speech_pieces(text)), voice, speed):
            yield block


async def _iterate(sentences: list[str]) -> AsyncIterator[str]:
    for sentence in sentences:
        yield sentence
