"""Wires the chat engine and the embeddings model chosen by the settings into the runtime."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .components import ComponentState, ComponentStatus
from .embeddings.engine import EmbeddingsModel
from .llm.chat import ChatService
from .llm.engine import ChatEngine
from .llm.llamacpp import GGUFSource, LlamaCppChatEngine
from .llm.upstream import OpenAICompatibleChatEngine
from .llm.vllm import VLLMServer, vllm_command
from .settings import Settings

if TYPE_CHECKING:
    from .runtime import BackendRuntime

PACKAGED_CHAT_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"
PACKAGED_EMBEDDINGS_MODEL = "all-minilm-l6-v2-int8"


def _packaged(settings: Settings, name: str, required_file: str) -> Path | None:
    """The packaged model's folder under the ``models`` setting, when it is installed."""
    folder = settings.models / name
    return folder if (folder / required_file).is_file() else None


def _not_configured(what: str, setting: str) -> ComponentStatus:
    return ComponentStatus(ComponentState.NOT_CONFIGURED, f"no {what}: set {setting}")


def _llamacpp_engine(settings: Settings) -> LlamaCppChatEngine | None:
    if settings.llm_model:
        source = GGUFSource(settings.llm_model, settings.llm_model_file, settings.data_dir / "models" / "huggingface")
        default_id = Path(settings.llm_model_file or settings.llm_model).stem
    elif (folder := _packaged(settings, PACKAGED_CHAT_MODEL, "model.gguf")) is not None:
        source, default_id = GGUFSource(str(folder / "model.gguf")), PACKAGED_CHAT_MODEL
    else:
        return None
    return LlamaCppChatEngine(
        source,
        settings.llm_served_name or default_id,
        settings.llm_context_length,
        settings.llm_threads,
        tool_grammar=settings.llm_tool_grammar,
    )


def _chat_engine(runtime: BackendRuntime) -> ChatEngine | None:
    settings = runtime.settings
    if settings.llm_engine == "llamacpp":
        engine = _llamacpp_engine(settings)
        if engine is not None:
            runtime.services.append(engine)
        return engine
    if settings.llm_engine == "upstream":
        upstream = OpenAICompatibleChatEngine(
            "llm-upstream",
            settings.llm_upstream_url,
            settings.llm_upstream_api_key,
            settings.llm_model,
            settings.llm_served_name or settings.llm_model,
            context_length=settings.llm_context_length,
        )
        runtime.services.append(upstream)
        return upstream
    served_name = settings.llm_served_name or settings.llm_model
    url = settings.vllm_url or f"http://127.0.0.1:{settings.vllm_port}/v1"
    vllm = OpenAICompatibleChatEngine(
        "llm-vllm",
        url,
        "",
        served_name,
        served_name,
        context_length=settings.vllm_max_model_len or None,
        strict_tools=settings.llm_tool_grammar,
        tokenize=True,
    )
    runtime.services.append(vllm)
    if not settings.vllm_url:
        runtime.services.append(VLLMServer(vllm_command(settings, served_name), vllm))
    return vllm


def _embeddings(settings: Settings) -> EmbeddingsModel | None:
    if settings.embeddings_engine == "sentence-transformers":
        if not settings.embeddings_model:
            return None
        from .embeddings.sentence_transformers import SentenceTransformerEmbedder

        model = settings.embeddings_model
        return EmbeddingsModel(model, lambda: SentenceTransformerEmbedder(model))
    folder = (
        Path(settings.embeddings_model)
        if settings.embeddings_model
        else _packaged(settings, PACKAGED_EMBEDDINGS_MODEL, "model.onnx")
    )
    if folder is None:
        return None
    from .embeddings.onnx import OnnxSentenceEmbedder

    return EmbeddingsModel(folder.name, lambda: OnnxSentenceEmbedder(folder))


def install_language_models(runtime: BackendRuntime) -> None:
    """Adds the chat service and the embeddings model (when configured) with their health and loaders."""
    engine = _chat_engine(runtime)
    if engine is None:
        runtime.components.register("llm", lambda: _not_configured("chat model", "llm_model"))
    else:
        runtime.chat = ChatService(engine)
        runtime.components.register("llm", engine.status)
        runtime.capabilities.add("chat")
        if runtime.settings.llm_engine != "upstream":
            # Our own engines keep a prompt's prefill for the next request that starts the same way, so clients may
            # send a prompt ahead of the first turn; an upstream may be a hosted API that bills every token.
            runtime.capabilities.add("prompt-cache")

    embeddings = _embeddings(runtime.settings)
    if embeddings is None:
        runtime.components.register("embeddings", lambda: _not_configured("embeddings model", "embeddings_model"))
    else:
        runtime.embeddings = embeddings
        runtime.services.append(embeddings)
        runtime.components.register("embeddings", embeddings.status)
        runtime.capabilities.add("embeddings")
