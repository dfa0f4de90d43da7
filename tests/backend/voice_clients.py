"""Wyoming client helpers shared by the voice tests (the backend runs as a real process)."""

from __future__ import annotations

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice

TIMEOUT = 60.0


async def read_event(client: AsyncTcpClient) -> Event:
    """The next event; fails the test when the connection closes."""
    event = await client.read_event()
    assert event is not None, "the server closed the connection"
    return event


async def describe(port: int) -> Info:
    """The server's ``info``."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Describe().event())
        return Info.from_event(await read_event(client))


async def read_audio(client: AsyncTcpClient) -> tuple[bytes, int]:
    """Reads audio-start, chunks and audio-stop; returns the samples and their rate."""
    start = AudioStart.from_event(await read_event(client))
    audio = bytearray()
    while not AudioStop.is_type((event := await read_event(client)).type):
        assert AudioChunk.is_type(event.type), event
        audio += AudioChunk.from_event(event).audio
    return bytes(audio), start.rate


async def synthesize(port: int, text: str, voice: str | None = None) -> tuple[bytes, int]:
    """16-bit mono samples and their rate for ``text``, over Wyoming."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=voice) if voice else None).event())
        return await read_audio(client)


async def transcribe(
    port: int, audio: bytes, rate: int, width: int = 2, channels: int = 1, client: AsyncTcpClient | None = None
) -> Transcript | Error:
    """Sends one utterance in the given format, after a quarter second of silence as a satellite's pre-roll has;
    returns the transcript or the server's error."""
    if client is None:
        async with AsyncTcpClient("127.0.0.1", port) as own:
            return await transcribe(port, audio, rate, width, channels, own)
    await client.write_event(Transcribe().event())
    await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
    frame = width * channels
    audio = (b"\x80" if width == 1 else b"\0") * (rate // 4 * frame) + audio
    step = 4096 * frame
    for offset in range(0, len(audio), step):
        chunk = AudioChunk(rate=rate, width=width, channels=channels, audio=audio[offset : offset + step])
        await client.write_event(chunk.event())
    await client.write_event(AudioStop().event())
    while True:
        event = await read_event(client)
        if Transcript.is_type(event.type):
            return Transcript.from_event(event)
        if Error.is_type(event.type):
            return Error.from_event(event)
