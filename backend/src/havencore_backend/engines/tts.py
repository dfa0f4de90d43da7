"""The text-to-speech interface every synthesis engine implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """A voice a loaded model offers, with the languages it speaks (BCP 47 style, e.g. ``en-US``)."""

    name: str
    languages: tuple[str, ...]
    description: str


class Synthesizer(Protocol):
    """A loaded text-to-speech model. ``synthesize`` blocks and is not thread-safe: callers serialise it."""

    engine: str
    model_name: str
    sample_rate: int
    voices: tuple[VoiceInfo, ...]

    def synthesize(self, text: str, voice: str, speed: float) -> NDArray[np.int16]:
        """Speaks ``text`` (a sentence or a few) with ``voice`` at ``speed`` (1.0 normal) as mono 16-bit samples."""
        ...


def language_tag(code: str) -> str:
    """Normalises ``en_us`` / ``en-us`` / ``en_US`` to ``en-US``, the form Home Assistant matches on."""
    language, _, region = code.replace("_", "-").partition("-")
    return f"{language.lower()}-{region.upper()}" if region else language.lower()
