"""Text-to-speech with Kokoro-82M through kokoro-onnx: one ONNX model, voices as style vectors in an ``.npz``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
from kokoro_onnx import Kokoro
from numpy.typing import NDArray

from .tts import VoiceInfo, language_tag

KOKORO_SAMPLE_RATE = 24000
# Kokoro names voices <language letter><gender letter>_<name>, e.g. af_heart, jf_alpha.
_VOICE_LANGUAGES = {
    "a": "en-US",
    "b": "en-GB",
    "e": "es",
    "f": "fr",
    "h": "hi",
    "i": "it",
    "j": "ja",
    "p": "pt-BR",
    "z": "zh",
}
_SPEED_RANGE = (0.5, 2.0)  # what kokoro-onnx accepts


def _model_files(model: Path) -> tuple[Path, Path, Path | None]:
    onnx = model if model.is_file() else next(iter(sorted(model.glob("*.onnx"))), model / "missing.onnx")
    voices = next(iter(sorted(onnx.parent.glob("*.npz"))), None)
    if not onnx.is_file() or voices is None:
        raise FileNotFoundError(f"no Kokoro model (.onnx with a voices .npz beside it) at {model}")
    vocab = onnx.parent / "vocab.json"
    return onnx, voices, vocab if vocab.is_file() else None


class KokoroSynthesizer:
    """A Kokoro model and its voices; text is read as ``language`` through espeak-ng phonemes."""

    engine = "kokoro"
    sample_rate = KOKORO_SAMPLE_RATE

    def __init__(self, model: Path, language: str = "en-us", use_cuda: bool = False) -> None:
        onnx, voices_path, vocab = _model_files(model)
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if use_cuda else ["CPUExecutionProvider"]
        session = onnxruntime.InferenceSession(str(onnx), providers=providers)
        vocab_config = json.loads(vocab.read_text(encoding="utf-8")) if vocab else None
        self._kokoro = Kokoro.from_session(session, str(voices_path), vocab_config=vocab_config)
        self._language = language
        self.model_name = onnx.stem
        # A voice speaks its own language and, through espeak-ng phonemes, the configured one.
        spoken = language_tag(language)
        self.voices = tuple(
            VoiceInfo(
                name=name,
                languages=tuple(dict.fromkeys((_VOICE_LANGUAGES.get(name[:1], spoken), spoken))),
                description=f"Kokoro {name}",
            )
            for name in sorted(self._kokoro.voices.files)
        )

    def synthesize(self, text: str, voice: str, speed: float) -> NDArray[np.int16]:
        """Speaks ``text``; the rate is clamped to the range Kokoro supports."""
        rate = min(max(speed, _SPEED_RANGE[0]), _SPEED_RANGE[1])
        audio, _ = self._kokoro.create(text, voice=voice, speed=rate, lang=self._language)
        samples: NDArray[np.int16] = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
        return samples
