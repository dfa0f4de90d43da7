"""Wyoming speech-to-text: ``describe``, ``transcribe`` and audio in any PCM format, transcripts streamed back."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from numpy.typing import NDArray
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info
from wyoming.server import AsyncEventHandler, HandlerFactory

from havencore_backend import __version__
from havencore_backend.engines.stt import STT_SAMPLE_RATE, TranscriptionInfo, TranscriptionOptions

from .audio import AudioFormatError, pcm_to_float
from .loader import EngineUnavailableError
from .speech_to_text import SpeechToText

_LOGGER = logging.getLogger(__name__)
MAX_UTTERANCE_SECONDS = 300  # a voice command is seconds long; this bounds memory per connection
HAVENCORE = Attribution(name="HavenCore", url="https://github.com/havencore/havencore")
WHISPER = Attribution(name="OpenAI Whisper (faster-whisper)", url="https://github.com/SYSTRAN/faster-whisper")


async def stt_info(service: SpeechToText) -> Info:
    """The ``info`` answer: the loaded model and its languages (empty while the model is unavailable)."""
    try:
        engine = await service.engine()
    except EngineUnavailableError:
        models = []
    else:
        models = [
            AsrModel(
                name=engine.model_name,
                attribution=WHISPER,
                installed=True,
                description=f"Whisper {engine.model_name}",
                version=None,
                languages=list(engine.languages),
            )
        ]
    program = AsrProgram(
        name="havencore-stt",
        attribution=HAVENCORE,
        installed=True,
        description="HavenCore speech-to-text",
        version=__version__,
        models=models,
        supports_transcript_streaming=True,
    )
    return Info(asr=[program])


class SpeechToTextHandler(AsyncEventHandler):
    """One client connection; the utterance being received is its state."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, service: SpeechToText) -> None:
        super().__init__(reader, writer)
        self._service = service
        self._language: str | None = None
        self._parts: list[NDArray[np.float32]] = []
        self._samples = 0
        self._failed = False

    async def handle_event(self, event: Event) -> bool:
        """Branches on the event type; every failure is answered with an ``error`` event."""
        if Describe.is_type(event.type):
            await self.write_event((await stt_info(self._service)).event())
        elif Transcribe.is_type(event.type):
            self._language = Transcribe.from_event(event).language
        elif AudioStart.is_type(event.type):
            self._reset()
        elif AudioChunk.is_type(event.type):
            await self._receive(AudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            if not self._failed:
                await self._transcribe()
            self._reset()
            self._language = None
        return True

    def _reset(self) -> None:
        self._parts = []
        self._samples = 0
        self._failed = False

    async def _fail(self, message: str, code: str) -> None:
        """Reports the error once and ignores the rest of this utterance."""
        if not self._failed:
            await self.write_event(Error(text=message, code=code).event())
        self._reset()
        self._failed = True

    async def _receive(self, chunk: AudioChunk) -> None:
        if self._failed:
            return
        try:
            audio = pcm_to_float(chunk.audio, chunk.rate, chunk.width, chunk.channels, STT_SAMPLE_RATE)
        except AudioFormatError as err:
            await self._fail(str(err), "audio-format")
            return
        self._samples += audio.size
        if self._samples > MAX_UTTERANCE_SECONDS * STT_SAMPLE_RATE:
            await self._fail(f"utterance longer than {MAX_UTTERANCE_SECONDS} s", "audio-too-long")
            return
        self._parts.append(audio)

    async def _transcribe(self) -> None:
        audio = np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)
        # Wyoming carries no segment times, so Whisper need not decode them.
        options = TranscriptionOptions(language=self._language, timestamps=False)
        texts: list[str] = []
        language = self._language
        try:
            async for item in self._service.stream(audio, options):
                if isinstance(item, TranscriptionInfo):
                    language = item.language
                    await self.write_event(TranscriptStart(language=language).event())
                else:
                    texts.append(item.text)
                    await self.write_event(TranscriptChunk(text=item.text).event())
        except EngineUnavailableError as err:
            await self.write_event(Error(text=str(err), code="stt-unavailable").event())
            return
        except Exception as err:  # report any engine failure to this client and keep serving the others
            _LOGGER.exception("transcription failed")
            await self.write_event(Error(text=f"transcription failed: {err}", code="stt-failed").event())
            return
        await self.write_event(TranscriptStop().event())
        await self.write_event(Transcript(text="".join(texts).strip(), language=language).event())


def stt_handler_factory(service: SpeechToText) -> HandlerFactory:
    """Builds a handler per connection, all sharing ``service``."""
    return lambda reader, writer: SpeechToTextHandler(reader, writer, service)
