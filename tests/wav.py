"""WAV files from raw samples, for tests in either venv (standard library only)."""

from __future__ import annotations

import io
import wave


def pcm_to_wav(pcm: bytes, rate: int) -> bytes:
    """A complete WAV file of 16-bit mono ``pcm`` at ``rate``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()
