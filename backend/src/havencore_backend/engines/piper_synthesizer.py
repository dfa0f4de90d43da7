"""Text-to-speech with Piper (piper-tts) voices: one ``.onnx`` model per voice with its ``.onnx.json`` config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from piper import PiperVoice, SynthesisConfig

from .tts import VoiceInfo, language_tag


def _voice_files(model: Path) -> list[Path]:
    if model.is_dir():
        return sorted(path for path in model.glob("*.onnx") if Path(f"{path}.json").is_file())
    return [model]


class PiperSynthesizer:
    """Every Piper voice found at ``model`` (a voice file or a folder of them), by file stem."""

    engine = "piper"

    def __init__(self, model: Path, use_cuda: bool = False) -> None:
        files = _voice_files(model)
        if not files:
            raise FileNotFoundError(f"no Piper voice (.onnx with .onnx.json) in {model}")
        self._voices = {path.stem: PiperVoice.load(path, use_cuda=use_cuda) for path in files}
        rates = {voice.config.sample_rate for voice in self._voices.values()}
        if len(rates) != 1:
            raise ValueError(f"Piper voices in {model} mix sample rates {sorted(rates)}; keep one rate per folder")
        self.sample_rate = rates.pop()
        self.model_name = model.stem if model.is_file() else model.name
        self.voices = tuple(
            VoiceInfo(name=path.stem, languages=(_language(path),), description=f"Piper {path.stem}") for path in files
        )

    def synthesize(self, text: str, voice: str, speed: float) -> NDArray[np.int16]:
        """Speaks ``text``; Piper's length scale is the inverse of the speaking rate."""
        piper_voice = self._voices[voice]
        config = SynthesisConfig(length_scale=piper_voice.config.length_scale / speed)
        chunks = [chunk.audio_int16_array for chunk in piper_voice.synthesize(text, syn_config=config)]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def _language(model: Path) -> str:
    """The voice's language from its config, else its espeak-ng voice."""
    config = json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
    code = config.get("language", {}).get("code") or config.get("espeak", {}).get("voice", "")
    return language_tag(str(code))
