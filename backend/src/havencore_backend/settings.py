"""Backend settings: command-line flags over ``HAVENCORE_*`` environment variables over a TOML file over defaults."""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "HAVENCORE_"
CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG"


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "havencore"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the backend; each field's metadata carries its ``--help`` text."""

    host: str = field(default="127.0.0.1", metadata={"help": "address the HTTP API binds to"})
    port: int = field(default=8000, metadata={"help": "TCP port of the HTTP API"})
    api_key: str = field(
        default="",
        metadata={"help": "API key required as 'Authorization: Bearer' on every route but /health; empty: no auth"},
    )
    data_dir: Path = field(
        default_factory=_default_data_dir,
        metadata={"help": "directory for the instance id, downloaded models and the embedded stores"},
    )
    models: Path = field(
        default_factory=lambda: Path.home() / ".cache" / "havencore" / "models",
        metadata={"help": "folder of the packaged models that scripts/setup installs; used when a model is not set"},
    )
    wyoming_host: str = field(default="127.0.0.1", metadata={"help": "address the Wyoming servers bind to"})
    wyoming_stt_port: int = field(default=10300, metadata={"help": "TCP port of the Wyoming speech-to-text server"})
    wyoming_tts_port: int = field(default=10200, metadata={"help": "TCP port of the Wyoming text-to-speech server"})
    log_level: str = field(default="info", metadata={"help": "log level: debug, info, warning or error"})
    # --- voice (speech-to-text and text-to-speech) ---
    stt_model: str = field(
        default="",
        metadata={
            "help": "Whisper model: a Hugging Face id (downloaded into the data dir) or a local CTranslate2 folder; "
            "empty: the packaged whisper-tiny.en"
        },
    )
    stt_device: str = field(default="cpu", metadata={"help": "device of the Whisper model: cpu, cuda or auto"})
    stt_compute_type: str = field(default="int8", metadata={"help": "Whisper compute type: int8, float16, ..."})
    stt_language: str = field(default="", metadata={"help": "spoken language (e.g. en); empty: detect it"})
    stt_beam_size: int = field(default=1, metadata={"help": "Whisper beam size (1: greedy, fastest)"})
    stt_vad_filter: bool = field(default=False, metadata={"help": "drop silence with Silero VAD before decoding"})
    stt_initial_prompt: str = field(default="", metadata={"help": "text that primes Whisper (names, spelling)"})
    tts_engine: str = field(default="piper", metadata={"help": "text-to-speech engine: piper or kokoro"})
    tts_model: str = field(
        default="",
        metadata={
            "help": "piper: a voice .onnx (its .onnx.json beside it) or a folder of them; kokoro: the .onnx with its "
            "voices .npz beside it; empty: the packaged model"
        },
    )
    tts_voice: str = field(default="", metadata={"help": "default voice; empty: the model's first voice"})
    tts_speed: float = field(default=1.0, metadata={"help": "default speaking rate (1.0: normal)"})
    tts_device: str = field(default="cpu", metadata={"help": "device of the speech model: cpu or cuda"})
    tts_language: str = field(default="en-us", metadata={"help": "espeak-ng language Kokoro reads text in"})
    tts_max_chars: int = field(default=4096, metadata={"help": "longest text accepted for one synthesis"})
    audio_upload_limit_mb: int = field(default=25, metadata={"help": "largest audio upload accepted, in MB"})
    openai_voices: str = field(
        default="",
        metadata={
            "help": "OpenAI voice names mapped to voices, e.g. 'alloy=jf_alpha,nova=jf_nezumi'; "
            "unmapped OpenAI names use the default voice"
        },
    )
    # --- memory (conversation history and semantic memory) ---
    database_url: str = field(
        default="", metadata={"help": "PostgreSQL URL (postgresql://...) for history; empty: SQLite in the data dir"}
    )
    qdrant_url: str = field(
        default="", metadata={"help": "Qdrant server URL for memories; empty: local mode in the data dir"}
    )
    qdrant_api_key: str = field(default="", metadata={"help": "API key of the Qdrant server"})
    # --- LLM and embeddings ---
    llm_engine: str = field(default="llamacpp", metadata={"help": "chat engine: llamacpp, vllm or upstream"})
    llm_model: str = field(
        default="",
        metadata={
            "help": "llamacpp: GGUF path or Hugging Face repo id; vllm: model id or path; upstream: model name; "
            "empty: the packaged test model in the models folder"
        },
    )
    llm_model_file: str = field(default="", metadata={"help": "llamacpp: GGUF file name in the Hugging Face repo"})
    llm_served_name: str = field(default="", metadata={"help": "model id in /v1/models; empty: from llm_model"})
    llm_context_length: int = field(
        default=4096,
        metadata={
            "help": "llamacpp: context length in tokens; upstream: the window clients plan prompts for, unless the "
            "upstream's /v1/models reports a max_model_len"
        },
    )
    llm_threads: int = field(default=0, metadata={"help": "llamacpp: CPU threads; 0: one per core"})
    # Without it the 0.5B model writes calls as prose or JSON replies and claims actions it never made; the
    # integration's action guard stops the valid-but-wrong targets it may pick under the grammar.
    llm_tool_grammar: bool = field(
        default=True,
        metadata={
            "help": "llamacpp: with tools offered, constrain answers to prose or calls valid for the tools; "
            "vllm: constrain tool calls to the tools' schemas (tools sent as strict)"
        },
    )
    llm_upstream_url: str = field(default="", metadata={"help": "upstream: OpenAI-compatible base URL (.../v1)"})
    llm_upstream_api_key: str = field(default="", metadata={"help": "upstream: API key sent as a bearer token"})
    vllm_url: str = field(default="", metadata={"help": "vllm: base URL of a running vLLM; empty: start one"})
    vllm_executable: str = field(
        default="vllm", metadata={"help": "vllm: the program (with leading arguments) run as '... serve'"}
    )
    vllm_port: int = field(default=8001, metadata={"help": "vllm: loopback port of the vLLM it starts"})
    vllm_quantization: str = field(default="", metadata={"help": "vllm: --quantization (e.g. awq); empty: auto"})
    vllm_max_model_len: int = field(default=0, metadata={"help": "vllm: --max-model-len; 0: the model's"})
    vllm_gpu_memory_percent: int = field(default=90, metadata={"help": "vllm: share of GPU memory to use, 1-100"})
    vllm_tool_call_parser: str = field(default="hermes", metadata={"help": "vllm: --tool-call-parser"})
    vllm_chat_template: str = field(default="", metadata={"help": "vllm: --chat-template file; empty: the model's"})
    embeddings_engine: str = field(
        default="onnx", metadata={"help": "embeddings engine: onnx or sentence-transformers"}
    )
    embeddings_model: str = field(
        default="",
        metadata={
            "help": "onnx: folder with model.onnx and tokenizer.json; sentence-transformers: model id or path; "
            "empty: the packaged MiniLM in the models folder"
        },
    )

    def __post_init__(self) -> None:
        for name in ("port", "wyoming_stt_port", "wyoming_tts_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise SettingsError(f"{name} must be between 0 and 65535, got {port}")
        if self.log_level.lower() not in {"debug", "info", "warning", "error"}:
            raise SettingsError(f"log_level must be debug, info, warning or error, got {self.log_level!r}")
        self._validate_voice()
        self._validate_llm()
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("database_url must be a postgresql:// URL or empty")
        if self.qdrant_url and not self.qdrant_url.startswith(("http://", "https://")):
            raise SettingsError("qdrant_url must be an http:// or https:// URL or empty")

    def _validate_voice(self) -> None:
        if self.stt_device not in {"cpu", "cuda", "auto"}:
            raise SettingsError(f"stt_device must be cpu, cuda or auto, got {self.stt_device!r}")
        if self.tts_device not in {"cpu", "cuda"}:
            raise SettingsError(f"tts_device must be cpu or cuda, got {self.tts_device!r}")
        if self.tts_engine not in {"piper", "kokoro"}:
            raise SettingsError(f"tts_engine must be piper or kokoro, got {self.tts_engine!r}")
        if not 1 <= self.stt_beam_size <= 20:
            raise SettingsError(f"stt_beam_size must be between 1 and 20, got {self.stt_beam_size}")
        if not 0.25 <= self.tts_speed <= 4.0:
            raise SettingsError(f"tts_speed must be between 0.25 and 4.0, got {self.tts_speed}")
        for name in ("tts_max_chars", "audio_upload_limit_mb"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        for pair in filter(None, (item.strip() for item in self.openai_voices.split(","))):
            if pair.count("=") != 1 or not all(part.strip() for part in pair.split("=")):
                raise SettingsError(f"openai_voices: expected name=voice pairs, got {pair!r}")

    def _validate_llm(self) -> None:
        if self.llm_engine not in {"llamacpp", "vllm", "upstream"}:
            raise SettingsError(f"llm_engine must be llamacpp, vllm or upstream, got {self.llm_engine!r}")
        if self.llm_engine == "upstream" and not self.llm_upstream_url:
            raise SettingsError("llm_engine upstream needs llm_upstream_url")
        if self.llm_engine == "vllm" and not (self.llm_model or self.vllm_url):
            raise SettingsError("llm_engine vllm needs llm_model (the model vLLM serves) or vllm_url")
        if self.llm_context_length < 256 or self.llm_threads < 0 or self.vllm_max_model_len < 0:
            raise SettingsError("llm_context_length must be >= 256, llm_threads and vllm_max_model_len >= 0")
        if not 0 <= self.vllm_port <= 65535:
            raise SettingsError(f"vllm_port must be between 0 and 65535, got {self.vllm_port}")
        if not 1 <= self.vllm_gpu_memory_percent <= 100:
            raise SettingsError(f"vllm_gpu_memory_percent must be 1-100, got {self.vllm_gpu_memory_percent}")
        if self.embeddings_engine not in {"onnx", "sentence-transformers"}:
            raise SettingsError(
                f"embeddings_engine must be onnx or sentence-transformers, got {self.embeddings_engine!r}"
            )


def _convert(name: str, raw: Any, kind: type[Any]) -> Any:
    """Converts a raw value from the environment, a TOML file or argparse to the field's type."""
    try:
        if kind is bool:
            return _to_bool(raw)
        if kind in (int, float):
            if isinstance(raw, bool):
                raise TypeError
            return kind(raw)
        if kind is Path:
            return Path(str(raw)).expanduser()
        if not isinstance(raw, str):
            raise TypeError
        return raw
    except (TypeError, ValueError) as err:
        raise SettingsError(f"{name}: expected {kind.__name__}, got {raw!r}") from err


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(text)


_FIELD_TYPES: dict[str, type[Any]] = {"str": str, "int": int, "float": float, "bool": bool, "Path": Path}


def _field_types() -> dict[str, type[Any]]:
    return {f.name: _FIELD_TYPES[str(f.type)] for f in fields(Settings)}


def build_argument_parser() -> argparse.ArgumentParser:
    """Builds the parser whose ``--help`` documents every setting and its environment variable."""
    parser = argparse.ArgumentParser(
        prog="havencore-backend",
        description=(
            "HavenCore backend. Settings come from these flags, then HAVENCORE_* environment variables, "
            f"then a TOML file (--config or {CONFIG_FILE_ENV}) with the same keys, then the defaults shown."
        ),
    )
    parser.add_argument("--config", type=Path, default=None, help=f"TOML settings file (env {CONFIG_FILE_ENV})")
    for f in fields(Settings):
        default = f.default_factory() if callable(f.default_factory) else f.default
        shown = "unset" if f.name == "api_key" else default
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=None,
            metavar=f.name.upper(),
            help=f"{f.metadata['help']} (env {ENV_PREFIX}{f.name.upper()}; default: {shown})",
        )
    return parser


def load_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolves settings from ``argv``, ``environ`` and the optional TOML file, in that order of precedence."""
    env = os.environ if environ is None else environ
    args = build_argument_parser().parse_args(argv)
    types = _field_types()

    values: dict[str, Any] = {}
    config_path: Path | None = args.config or (Path(env[CONFIG_FILE_ENV]) if env.get(CONFIG_FILE_ENV) else None)
    if config_path is not None:
        try:
            file_values = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except OSError as err:
            raise SettingsError(f"cannot read config file {config_path}: {err.strerror}") from err
        except tomllib.TOMLDecodeError as err:
            raise SettingsError(f"config file {config_path} is not valid TOML: {err}") from err
        unknown = sorted(set(file_values) - set(types))
        if unknown:
            raise SettingsError(f"config file {config_path} has unknown settings: {', '.join(unknown)}")
        values.update({key: _convert(key, raw, types[key]) for key, raw in file_values.items()})

    for name, kind in types.items():
        raw_env = env.get(ENV_PREFIX + name.upper())
        if raw_env is not None:
            values[name] = _convert(ENV_PREFIX + name.upper(), raw_env, kind)
        raw_flag = getattr(args, name)
        if raw_flag is not None:
            values[name] = _convert("--" + name.replace("_", "-"), raw_flag, kind)
    return Settings(**values)
