"""The Wyoming speech-to-text and text-to-speech servers, driven by the ``wyoming`` client library."""

from __future__ import annotations

import asyncio

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from tests.backend.voice_clients import TIMEOUT, describe, read_audio, read_event, synthesize, transcribe
from tests.backend_process import RunningBackend
from tests.transcripts import assert_heard

THREE_SENTENCES = ["Good morning.", "The coffee is ready.", "Have a nice day."]


async def test_describe_lists_the_real_models_and_streaming_support(voice_backend: RunningBackend) -> None:
    asr = (await describe(voice_backend.stt_port)).asr[0]
    assert asr.supports_transcript_streaming is True
    assert [(model.name, model.languages) for model in asr.models] == [("whisper-tiny.en", ["en"])]

    tts = (await describe(voice_backend.tts_port)).tts[0]
    assert tts.supports_synthesize_streaming is True
    assert [(voice.name, voice.languages) for voice in tts.voices] == [("en_US-joe-medium", ["en-US"])]


async def test_round_trip_in_other_sample_formats(voice_backend: RunningBackend) -> None:
    audio, rate = await synthesize(voice_backend.tts_port, "The garage door is open.")
    assert rate == 22050
    samples = np.frombuffer(audio, "<i2")
    # 44.1 kHz stereo 32-bit, as a satellite might send it: the server converts to what Whisper needs.
    stereo = np.repeat(np.repeat(samples.astype("<i4") << 16, 2), 2)
    result = await transcribe(voice_backend.stt_port, stereo.tobytes(), 44100, width=4, channels=2)
    assert isinstance(result, Transcript)
    assert_heard(result.text, ["the", "garage", "door", "is", "open"])
    assert result.language == "en"
    eight_bit = ((samples >> 8) + 128).astype(np.uint8)
    result = await transcribe(voice_backend.stt_port, eight_bit.tobytes(), rate, width=1)
    assert isinstance(result, Transcript)
    assert_heard(result.text, ["the", "garage", "door", "is", "open"])


async def test_transcript_is_streamed_then_final(voice_backend: RunningBackend) -> None:
    audio, rate = await synthesize(voice_backend.tts_port, "Good morning. The coffee is ready.")
    async with AsyncTcpClient("127.0.0.1", voice_backend.stt_port) as client:
        await client.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        await client.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=audio).event())
        await client.write_event(AudioStop().event())
        types = []
        chunks = []
        while not Transcript.is_type((event := await read_event(client)).type):
            types.append(event.type)
            if event.type == "transcript-chunk":
                chunks.append(event.data["text"])
        assert types[0] == "transcript-start"
        assert types[-1] == "transcript-stop"
        assert "".join(chunks).strip() == Transcript.from_event(event).text
        assert_heard(Transcript.from_event(event).text, ["good", "morning", "the", "coffee", "is", "ready"])


async def test_streaming_synthesis_speaks_before_the_text_is_complete(voice_backend: RunningBackend) -> None:
    async with AsyncTcpClient("127.0.0.1", voice_backend.tts_port) as client:
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="en_US-joe-medium")).event())
        # Sentence one completes when sentence two begins; the last chunk is sent only once audio came back.
        await client.write_event(SynthesizeChunk(text="Good morn").event())
        await client.write_event(SynthesizeChunk(text="ing. The coffee").event())
        first = await asyncio.wait_for(read_event(client), TIMEOUT)
        assert AudioStart.is_type(first.type)
        chunk = await asyncio.wait_for(read_event(client), TIMEOUT)
        assert AudioChunk.is_type(chunk.type)
        await client.write_event(SynthesizeChunk(text=" is ready. Have a nice day.").event())
        # As Home Assistant does: the whole text again for older servers, which a streaming server ignores.
        await client.write_event(Synthesize(text=" ".join(THREE_SENTENCES)).event())
        await client.write_event(SynthesizeStop().event())
        audio = bytearray(AudioChunk.from_event(chunk).audio)
        while not AudioStop.is_type((event := await read_event(client)).type):
            assert AudioChunk.is_type(event.type), event
            audio += AudioChunk.from_event(event).audio
        assert SynthesizeStopped.is_type((await read_event(client)).type)
    result = await transcribe(voice_backend.stt_port, bytes(audio), AudioStart.from_event(first).rate)
    assert isinstance(result, Transcript)
    assert_heard(result.text, " ".join(THREE_SENTENCES))


async def test_concurrent_clients_get_their_own_transcripts(voice_backend: RunningBackend) -> None:
    texts = ["The garage door is open.", "Good morning.", "Have a nice day."]
    spoken = await asyncio.gather(*(synthesize(voice_backend.tts_port, text) for text in texts))
    results = await asyncio.gather(*(transcribe(voice_backend.stt_port, audio, rate) for audio, rate in spoken))
    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, Transcript)
        assert_heard(result.text, text)


async def test_bad_sample_formats_get_an_error_and_the_connection_keeps_working(voice_backend: RunningBackend) -> None:
    audio, rate = await synthesize(voice_backend.tts_port, "The garage door is open.")
    async with AsyncTcpClient("127.0.0.1", voice_backend.stt_port) as client:
        error = await transcribe(voice_backend.stt_port, b"\0" * 300, 16000, width=3, client=client)
        assert isinstance(error, Error)
        assert error.code == "audio-format"
        assert "sample width 3" in error.text
        error = await transcribe(voice_backend.stt_port, b"\0" * 3, 16000, width=2, client=client)
        assert isinstance(error, Error)
        assert "whole number" in error.text
        result = await transcribe(voice_backend.stt_port, audio, rate, client=client)
        assert isinstance(result, Transcript)
        assert_heard(result.text, ["the", "garage", "door", "is", "open"])


async def test_unknown_voice_and_long_text_get_errors(voice_backend: RunningBackend) -> None:
    async with AsyncTcpClient("127.0.0.1", voice_backend.tts_port) as client:
        await client.write_event(Synthesize(text="Hello.", voice=SynthesizeVoice(name="nobody")).event())
        error = Error.from_event(await read_event(client))
        assert "unknown voice 'nobody'" in error.text
        await client.write_event(Synthesize(text="x" * 601).event())
        error = Error.from_event(await read_event(client))
        assert error.code == "tts-text-too-long"
        await client.write_event(Synthesize(text="Still here.").event())
        audio, _ = await read_audio(client)
        assert audio


async def test_a_client_leaving_mid_stream_does_not_disturb_others(voice_backend: RunningBackend) -> None:
    leaving = AsyncTcpClient("127.0.0.1", voice_backend.tts_port)
    await leaving.connect()
    await leaving.write_event(SynthesizeStart().event())
    await leaving.write_event(SynthesizeChunk(text="This sentence is cut off. And so is this").event())
    await leaving.disconnect()
    half = AsyncTcpClient("127.0.0.1", voice_backend.stt_port)
    await half.connect()
    await half.write_event(AudioStart(rate=16000, width=2, channels=1).event())
    await half.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=b"\0" * 32000).event())
    await half.disconnect()
    audio, rate = await synthesize(voice_backend.tts_port, "The garage door is open.")
    result = await transcribe(voice_backend.stt_port, audio, rate)
    assert isinstance(result, Transcript)
    assert_heard(result.text, ["the", "garage", "door", "is", "open"])


async def _synthesize_with_data(port: int, extra: dict[str, object]) -> tuple[bytes, int] | Error:
    """Audio for a plain synthesize carrying HavenCore's extra keys, or the error event it got."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        event = Synthesize(text="The kitchen light is on.").event()
        event.data.update(extra)
        await client.write_event(event)
        first = await read_event(client)
        if Error.is_type(first.type):
            return Error.from_event(first)
        assert AudioStart.is_type(first.type)
        pcm = bytearray()
        while not AudioStop.is_type((next_event := await read_event(client)).type):
            pcm += AudioChunk.from_event(next_event).audio
        return bytes(pcm), AudioStart.from_event(first).rate


async def test_speed_extension_changes_the_speaking_rate(voice_backend: RunningBackend) -> None:
    # Three of each: the voice's durations vary from one synthesis to the next (one fast take measured 0.80 of a
    # normal one).
    normals = [await _synthesize_with_data(voice_backend.tts_port, {}) for _ in range(3)]
    fasts = [await _synthesize_with_data(voice_backend.tts_port, {"speed": 1.5}) for _ in range(3)]
    assert not any(isinstance(take, Error) for take in (*normals, *fasts))
    normal, fast = normals[0], fasts[0]
    assert not isinstance(normal, Error)
    assert not isinstance(fast, Error)
    # One and a half times the rate takes clearly less time and is as loud: the same speech, faster. (Whisper
    # tiny.en mishears fast Piper speech too often for a transcript check to be fair here.)
    lengths = [sum(len(take[0]) for take in takes if not isinstance(take, Error)) for takes in (normals, fasts)]
    assert lengths[1] < 0.8 * lengths[0]
    loudness = [float(np.sqrt(np.mean(np.frombuffer(pcm, "<i2").astype(np.float64) ** 2))) for pcm, _ in (normal, fast)]
    assert loudness[1] > 0.5 * loudness[0]

    bad = await _synthesize_with_data(voice_backend.tts_port, {"speed": "fast"})
    assert isinstance(bad, Error)
    assert bad.code == "tts-speed"
