"""Audio for the HA-side speech tests, shaped as HA's pipeline sends it to speech-to-text."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator

import numpy as np
from homeassistant.components import stt

STT_METADATA = stt.SpeechMetadata(
    language="en",
    format=stt.AudioFormats.WAV,
    codec=stt.AudioCodecs.PCM,
    bit_rate=stt.AudioBitRates.BITRATE_16,
    sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
    channel=stt.AudioChannels.CHANNEL_MONO,
)


def as_16_khz_pcm(wav_bytes: bytes) -> bytes:
    """16 kHz 16-bit mono PCM, as HA's pipeline converts audio before speech-to-text; a short silence leads."""
    with wave.open(io.BytesIO(wav_bytes)) as reader:
        rate = reader.getframerate()
        frames = reader.readframes(reader.getnframes())
    samples = np.frombuffer(frames, "<i2").astype(np.float32)
    positions = np.arange(round(samples.size * 16000 / rate)) * (rate / 16000)
    resampled = np.interp(positions, np.arange(samples.size), samples)
    return bytes(np.concatenate([np.zeros(4000), resampled]).astype("<i2").tobytes())


async def stream_pcm(data: bytes) -> AsyncIterator[bytes]:
    """The audio in 100 ms chunks, as a satellite streams it."""
    for offset in range(0, len(data), 3200):
        yield data[offset : offset + 3200]
