"""Validation of the chat and embeddings settings."""

from __future__ import annotations

import pytest

from havencore_backend.settings import SettingsError, load_settings


def test_chat_defaults_use_llama_cpp_with_the_packaged_model() -> None:
    settings = load_settings([], environ={})
    assert settings.llm_engine == "llamacpp"
    assert settings.llm_model == ""
    assert settings.embeddings_engine == "onnx"
    assert settings.vllm_gpu_memory_percent == 90


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--llm-engine", "gpt"], "llm_engine must be llamacpp, vllm or upstream"),
        (["--llm-engine", "upstream"], "needs llm_upstream_url"),
        (["--llm-engine", "vllm"], "needs llm_model"),
        (["--llm-context-length", "10"], "llm_context_length must be >= 256"),
        (["--vllm-gpu-memory-percent", "0"], "vllm_gpu_memory_percent must be 1-100"),
        (["--vllm-port", "70000"], "vllm_port must be between"),
        (["--embeddings-engine", "torch"], "embeddings_engine must be onnx or sentence-transformers"),
    ],
)
def test_bad_chat_settings_are_named(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(argv, environ={})


def test_environment_configures_an_upstream() -> None:
    settings = load_settings(
        [], environ={"HAVENCORE_LLM_ENGINE": "upstream", "HAVENCORE_LLM_UPSTREAM_URL": "http://ollama:11434/v1"}
    )
    assert settings.llm_upstream_url == "http://ollama:11434/v1"
