"""Audio conversion: raw PCM or any container in, mono float32 at a model's rate out."""

from __future__ import annotations

import io

import av
import numpy as np
from numpy.typing import NDArray

_PCM_DTYPES: dict[int, np.dtype[np.integer]] = {1: np.dtype(np.uint8), 2: np.dtype("<i2"), 4: np.dtype("<i4")}
_MAX_RATE = 384000


class AudioFormatError(ValueError):
    """Audio that cannot be read: a bad sample format, a truncated or non-audio file, no samples at all."""


def resample(audio: NDArray[np.float32], rate: int, target_rate: int) -> NDArray[np.float32]:
    """Linear-interpolation resampling, ample for speech going into a recogniser or out of a synthesiser."""
    if rate == target_rate or audio.size == 0:
        return audio
    count = max(1, round(audio.size * target_rate / rate))
    positions = np.arange(count, dtype=np.float64) * (rate / target_rate)
    return np.interp(positions, np.arange(audio.size), audio).astype(np.float32)


def pcm_to_float(data: bytes, rate: int, width: int, channels: int, target_rate: int) -> NDArray[np.float32]:
    """Converts interleaved little-endian PCM (8-bit unsigned, 16- or 32-bit signed) to mono ``target_rate``."""
    dtype = _PCM_DTYPES.get(width)
    if dtype is None:
        raise AudioFormatError(f"unsupported sample width {width} bytes (use 1, 2 or 4)")
    if not 1 <= channels <= 16:
        raise AudioFormatError(f"unsupported channel count {channels}")
    if not 1000 <= rate <= _MAX_RATE:
        raise AudioFormatError(f"unsupported sample rate {rate} Hz")
    frame_bytes = width * channels
    if len(data) % frame_bytes:
        raise AudioFormatError(f"{len(data)} bytes is not a whole number of {frame_bytes}-byte frames")
    samples = np.frombuffer(data, dtype=dtype).astype(np.float32)
    if width == 1:
        samples = (samples - 128.0) / 128.0
    else:
        samples /= float(2 ** (8 * width - 1))
    mono = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return resample(mono, rate, target_rate)


def decode_audio(data: bytes, target_rate: int) -> NDArray[np.float32]:
    """Decodes any container/codec FFmpeg reads (wav, mp3, ogg/opus, flac, webm, m4a) to mono ``target_rate``."""
    if not data:
        raise AudioFormatError("the audio file is empty")
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target_rate)
    parts: list[NDArray[np.float32]] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioFormatError("the file has no audio stream")
            for frame in container.decode(audio=0):
                parts.extend(resampled.to_ndarray()[0] for resampled in resampler.resample(frame))
            parts.extend(resampled.to_ndarray()[0] for resampled in resampler.resample(None))
    except av.FFmpegError as err:
        raise AudioFormatError(f"the file could not be decoded as audio ({err})") from err
    audio = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    if audio.size == 0:
        raise AudioFormatError("the file contains no audio samples")
    return audio
