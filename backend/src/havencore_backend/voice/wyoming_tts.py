"""Wyoming text-to-speech: ``describe``, ``synthesize`` and the streaming ``synthesize-start/chunk/stop`` form."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import numpy as np
from numpy.typing import NDArray
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler, HandlerFactory
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from havencore_backend import __version__

from .loader import EngineUnavailableError
from .sentences import SentenceBuffer
from .text_to_speech import TextTooLongError, TextToSpeech, UnknownVoiceError
from .wyoming_stt import HAVENCORE

_LOGGER = logging.getLogger(__name__)
SAMPLES_PER_CHUNK = 1024  # as the reference Wyoming servers send them
# HavenCore's extension to synthesize / synthesize-start: a speaking-rate multiplier (1.0: the configured rate), sent
# by HavenCore's Home Assistant integration; other clients leave it out and other servers ignore it.
SPEED_KEY = "speed"
SPEED_RANGE = (0.25, 4.0)
_ENGINE_ATTRIBUTION = {
    "piper": Attribution(name="Piper", url="https://github.com/OHF-Voice/piper1-gpl"),
    "kokoro": Attribution(name="Kokoro-82M (kokoro-onnx)", url="https://github.com/thewh1teagle/kokoro-onnx"),
}


async def tts_info(service: TextToSpeech) -> Info:
    """The ``info`` answer: every voice of the loaded model with its languages (none while it is unavailable)."""
    try:
        engine = await service.engine()
    except EngineUnavailableError:
        voices = []
    else:
        voices = [
            TtsVoice(
                name=voice.name,
                attribution=_ENGINE_ATTRIBUTION[engine.engine],
                installed=True,
                description=voice.description,
                version=None,
                languages=list(voice.languages),
            )
            for voice in engine.voices
        ]
    program = TtsProgram(
        name="havencore-tts",
        attribution=HAVENCORE,
        installed=True,
        description="HavenCore text-to-speech",
        version=__version__,
        voices=voices,
        supports_synthesize_streaming=True,
    )
    return Info(tts=[program])


class TextToSpeechHandler(AsyncEventHandler):
    """One client connection; a streaming synthesis in progress is its state."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, service: TextToSpeech) -> None:
        super().__init__(reader, writer)
        self._service = service
        self._sentences: SentenceBuffer | None = None  # set between synthesize-start and synthesize-stop
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._speaker: asyncio.Task[None] | None = None  # sends the stream's audio while its text arrives
        self._streamed_chars = 0

    async def handle_event(self, event: Event) -> bool:
        """Branches on the event type; every failure is answered with an ``error`` event."""
        if Describe.is_type(event.type):
            await self.write_event((await tts_info(self._service)).event())
        elif Synthesize.is_type(event.type):
            # Streaming clients repeat the whole text in a plain synthesize for older servers: skip it then.
            if self._sentences is None and (speed := await self._speed(event)) is not None:
                synthesize = Synthesize.from_event(event)
                await self._synthesize(synthesize.text, synthesize.voice, speed)
        elif SynthesizeStart.is_type(event.type):
            if (speed := await self._speed(event)) is not None:
                await self._start_stream(SynthesizeStart.from_event(event).voice, speed)
        elif SynthesizeChunk.is_type(event.type):
            await self._stream_chunk(SynthesizeChunk.from_event(event).text)
        elif SynthesizeStop.is_type(event.type):
            await self._stop_stream()
        return True

    async def disconnect(self) -> None:
        """A client that leaves mid-stream stops its synthesis."""
        if self._speaker is not None:
            self._speaker.cancel()

    async def _error(self, message: str, code: str) -> None:
        await self.write_event(Error(text=message, code=code).event())

    async def _speed(self, event: Event) -> float | None:
        """The speaking rate the event asks for, or ``None`` after reporting a bad one."""
        factor = (event.data or {}).get(SPEED_KEY, 1.0)
        low, high = SPEED_RANGE
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not low <= factor <= high:
            await self._error(f"speed must be a number from {low} to {high}, got {factor!r}", "tts-speed")
            return None
        return float(factor) * self._service.speed

    async def _voice(self, voice: SynthesizeVoice | None) -> str | None:
        """The voice to speak with, or ``None`` after reporting why there is none."""
        try:
            return await self._service.resolve_voice(voice.name if voice else None)
        except (UnknownVoiceError, EngineUnavailableError) as err:
            await self._error(str(err), "tts-voice")
            return None

    async def _speak(self, audio: AsyncIterator[NDArray[np.int16]]) -> None:
        """Sends audio-start, each block of samples as it is synthesized, and audio-stop."""
        rate = (await self._service.engine()).sample_rate
        await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        try:
            async for samples in audio:
                for start in range(0, samples.size, SAMPLES_PER_CHUNK):
                    pcm = samples[start : start + SAMPLES_PER_CHUNK].astype("<i2").tobytes()
                    await self.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=pcm).event())
        except ConnectionError:
            raise
        except Exception as err:  # report an engine failure to this client and keep serving the others
            _LOGGER.exception("synthesis failed")
            await self._error(f"synthesis failed: {err}", "tts-failed")
        await self.write_event(AudioStop().event())

    async def _synthesize(self, text: str, voice_request: SynthesizeVoice | None, speed: float) -> None:
        try:
            self._service.check_length(len(text))
        except TextTooLongError as err:
            await self._error(str(err), "tts-text-too-long")
            return
        voice = await self._voice(voice_request)
        if voice is not None:
            await self._speak(self._service.stream_text(text, voice, speed))

    async def _start_stream(self, voice_request: SynthesizeVoice | None, speed: float) -> None:
        self._sentences = SentenceBuffer()
        self._streamed_chars = 0
        self._queue = asyncio.Queue()
        voice = await self._voice(voice_request)
        if voice is not None:
            self._speaker = asyncio.create_task(self._speak(self._service.stream(_drain(self._queue), voice, speed)))

    async def _stream_chunk(self, text: str) -> None:
        if self._sentences is None:
            await self._error("synthesize-chunk before synthesize-start", "tts-order")
            return
        self._streamed_chars += len(text)
        try:
            self._service.check_length(self._streamed_chars)
        except TextTooLongError as err:
            if self._speaker is not None:  # the first time only: stop speaking, ignore the rest of the text
                await self._error(str(err), "tts-text-too-long")
                self._speaker.cancel()
                self._speaker = None
            return
        for sentence in self._sentences.feed(text):
            self._queue.put_nowait(sentence)

    async def _stop_stream(self) -> None:
        if self._sentences is None:
            await self._error("synthesize-stop before synthesize-start", "tts-order")
            return
        for sentence in self._sentences.flush():
            self._queue.put_nowait(sentence)
        self._queue.put_nowait(None)
        if self._speaker is not None:
            await self._speaker
            self._speaker = None
        self._sentences = None
        await self.write_event(SynthesizeStopped().event())


async def _drain(queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
    while (sentence := await queue.get()) is not None:
        yield sentence


def tts_handler_factory(service: TextToSpeech) -> HandlerFactory:
    """Builds a handler per connection, all sharing ``service``."""
    return lambda reader, writer: TextToSpeechHandler(reader, writer, service)
