"""The speech-to-text service both protocols use: one shared model, one request decoding at a time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from havencore_backend.engines.stt import Transcriber, TranscriptionInfo, TranscriptionOptions, TranscriptSegment

from .loader import EngineLoader


@dataclass(frozen=True, slots=True)
class Transcription:
    """A finished transcription."""

    info: TranscriptionInfo
    segments: tuple[TranscriptSegment, ...]

    @property
    def text(self) -> str:
        """The segments' text joined, as Whisper spaces it."""
        return "".join(segment.text for segment in self.segments).strip()


class _Done:
    """Marks the end of a transcription in the hand-over queue."""


class SpeechToText:
    """Transcribes mono float32 audio at ``STT_SAMPLE_RATE``; decoding runs in a thread under the model's lock."""

    def __init__(self, loader: EngineLoader[Transcriber]) -> None:
        self._loader = loader
        # A threading lock, held by the worker thread itself: a cancelled request cannot free the model early.
        self._lock = threading.Lock()
        self._workers: set[asyncio.Task[None]] = set()  # decodings that outlive a disconnected client

    async def engine(self) -> Transcriber:
        """The loaded engine (waits while it loads)."""
        return await self._loader.get()

    async def stream(
        self, audio: NDArray[np.float32], options: TranscriptionOptions
    ) -> AsyncIterator[TranscriptionInfo | TranscriptSegment]:
        """Yields the transcription's info, then each segment as soon as Whisper has decoded it."""
        engine = await self._loader.get()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[TranscriptionInfo | TranscriptSegment | BaseException | _Done] = asyncio.Queue()

        def decode() -> None:
            with self._lock:
                try:
                    info, segments = engine.transcribe(audio, options)
                    loop.call_soon_threadsafe(queue.put_nowait, info)
                    for segment in segments:
                        loop.call_soon_threadsafe(queue.put_nowait, segment)
                except Exception as err:  # handed to the awaiting request
                    loop.call_soon_threadsafe(queue.put_nowait, err)
                finally:
                    loop.call_soon_threadsafe(queue.put_nowait, _Done())

        worker = asyncio.create_task(asyncio.to_thread(decode))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)
        while not isinstance(item := await queue.get(), _Done):
            if isinstance(item, BaseException):
                raise item
            yield item

    async def transcribe(self, audio: NDArray[np.float32], options: TranscriptionOptions) -> Transcription:
        """Decodes the whole of ``audio``."""
        info: TranscriptionInfo | None = None
        segments: list[TranscriptSegment] = []
        async for item in self.stream(audio, options):
            if isinstance(item, TranscriptionInfo):
                info = item
            else:
                segments.append(item)
        assert info is not None  # the engine reports info before any segment
        return Transcription(info, tuple(segments))
