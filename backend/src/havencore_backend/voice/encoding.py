"""Streaming encoders for synthesized speech: 16-bit mono PCM in, bytes of wav, mp3, opus, flac or pcm out."""

from __future__ import annotations

import io
import struct
from typing import Protocol

import av
import numpy as np
from numpy.typing import NDArray

from .audio import resample

PCM_RATE = 24000  # OpenAI's raw "pcm" format: 24 kHz, 16-bit little-endian, mono

CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "pcm": "audio/pcm",
}


class StreamEncoder(Protocol):
    """Turns successive blocks of samples into bytes that can be sent as soon as they are returned."""

    def encode(self, samples: NDArray[np.int16]) -> bytes:
        """Encodes the next block; may return nothing while the codec fills a frame."""
        ...

    def finish(self) -> bytes:
        """Flushes the codec and closes the container."""
        ...


class WavStreamEncoder:
    """A WAV header with unknown lengths (as OpenAI streams it), then raw samples."""

    def __init__(self, sample_rate: int) -> None:
        unknown = 0xFFFFFFFF
        self._header = (
            b"RIFF"
            + struct.pack("<I", unknown)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data"
            + struct.pack("<I", unknown)
        )

    def encode(self, samples: NDArray[np.int16]) -> bytes:
        """Samples as little-endian bytes, the header first."""
        header, self._header = self._header, b""
        return header + samples.astype("<i2").tobytes()

    def finish(self) -> bytes:
        """Only the header, when nothing was encoded."""
        header, self._header = self._header, b""
        return header


class PcmStreamEncoder:
    """Raw 24 kHz samples, the rate OpenAI clients assume for ``pcm``."""

    def __init__(self, sample_rate: int) -> None:
        self._rate = sample_rate

    def encode(self, samples: NDArray[np.int16]) -> bytes:
        """Resampled to 24 kHz little-endian bytes."""
        audio = resample(samples.astype(np.float32), self._rate, PCM_RATE)
        return np.round(audio).astype("<i2").tobytes()

    def finish(self) -> bytes:
        """Nothing is buffered."""
        return b""


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file that hands over what the muxer wrote since the last call."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


# format -> (container, codec, codec sample rate or None for the input's)
_CODECS = {"mp3": ("mp3", "libmp3lame", None), "opus": ("ogg", "libopus", 48000), "flac": ("flac", "flac", None)}


class FFmpegStreamEncoder:
    """mp3, Ogg Opus or FLAC through PyAV, written to a pipe-like sink so each page leaves when it is muxed."""

    def __init__(self, response_format: str, sample_rate: int) -> None:
        container_format, codec, codec_rate = _CODECS[response_format]
        self._sink = _Sink()
        self._rate = sample_rate
        self._container = av.open(self._sink, mode="w", format=container_format)
        stream = self._container.add_stream(codec, rate=codec_rate or sample_rate, layout="mono")
        assert isinstance(stream, av.AudioStream)  # an audio codec was named
        self._stream = stream

    def encode(self, samples: NDArray[np.int16]) -> bytes:
        """Encodes a block; PyAV converts rate and sample format to what the codec takes."""
        if samples.size:
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self._rate
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        return self._sink.take()

    def finish(self) -> bytes:
        """Flushes the codec and writes the trailer."""
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._sink.take()


def create_encoder(response_format: str, sample_rate: int) -> StreamEncoder:
    """The encoder for one of ``CONTENT_TYPES``' formats."""
    if response_format == "wav":
        return WavStreamEncoder(sample_rate)
    if response_format == "pcm":
        return PcmStreamEncoder(sample_rate)
    return FFmpegStreamEncoder(response_format, sample_rate)
