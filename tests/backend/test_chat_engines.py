"""The other chat paths: an OpenAI-compatible upstream, a supervised vLLM (llama_cpp.server standing in), and no or a
broken model. The upstream is a real server; nothing about the protocol is mocked."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from havencore_backend.llm.vllm import vllm_command
from havencore_backend.settings import Settings
from tests.backend.language_models import (
    CHAT_GGUF,
    EMBEDDINGS_MODEL_ID,
    OFFLINE,
    VLLM_STAND_IN,
    LlamaServer,
    wait_for_component,
)
from tests.backend.vllm_stand_in import DEFAULT_MAX_MODEL_LEN
from tests.backend_process import free_port, http_get, http_json, start_backend

QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "What is the capital of France? One sentence."}
]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A real OpenAI-compatible server on the packaged model."""
    server = LlamaServer(tmp_path_factory.mktemp("upstream") / "llama_server.log")
    yield server
    server.stop()


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)


def _tokenize(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    return http_json("POST", f"{url}/v1/havencore/tokenize", body=body)


def test_vllm_command_line_carries_the_settings() -> None:
    settings = Settings(
        llm_engine="vllm",
        llm_model="Qwen/Qwen2.5-7B-Instruct-AWQ",
        vllm_quantization="awq",
        vllm_max_model_len=8192,
        vllm_gpu_memory_percent=85,
        vllm_tool_call_parser="hermes",
        vllm_chat_template="/etc/havencore/qwen.jinja",
        vllm_port=8123,
    )
    assert vllm_command(settings, "qwen") == [
        "vllm", "serve", "Qwen/Qwen2.5-7B-Instruct-AWQ", "--host", "127.0.0.1", "--port", "8123",
        "--served-model-name", "qwen", "--gpu-memory-utilization", "0.85", "--enable-prefix-caching",
        "--enable-prompt-tokens-details", "--enable-auto-tool-choice",
        "--tool-call-parser", "hermes", "--quantization", "awq", "--max-model-len", "8192",
        "--chat-template", "/etc/havencore/qwen.jinja",
    ]  # fmt: skip


def test_upstream_streams_and_turns_its_text_into_tool_calls(llama_server: LlamaServer, tmp_path: Path) -> None:
    backend = start_backend(
        tmp_path,
        extra_args=(
            *("--llm-engine", "upstream", "--llm-upstream-url", llama_server.url),
            *("--llm-context-length", "1536"),
        ),
        env=OFFLINE,
    )
    try:
        wait_for_component(backend, "llm", "ok")
        client = _client(backend.url)
        # The upstream's chat model, beside the packaged embeddings model the backend serves itself.
        assert [model.id for model in client.models.list()] == [llama_server.alias, EMBEDDINGS_MODEL_ID]
        info = http_get(f"{backend.url}/v1/havencore/info")[1]
        assert (info["chat_model"], info["embeddings_model"]) == (llama_server.alias, EMBEDDINGS_MODEL_ID)
        # llama_cpp.server does not say its window: the configured one is the window clients plan for.
        assert info["chat_context_length"] == 1536
        assert http_get(f"{backend.url}/v1/models")[1]["data"][0]["max_model_len"] == 1536
        # Nor can it count a chat's tokens: clients estimate.
        status, refused = _tokenize(backend.url, {"model": llama_server.alias, "prompt": "hi"})
        assert status == 501
        assert refused["error"]["code"] == "tokenize_unsupported"
        # An upstream may bill every token: clients are not invited to send prompts ahead of a turn.
        assert "chat" in info["capabilities"]
        assert "prompt-cache" not in info["capabilities"]
        stream = client.chat.completions.create(
            model=llama_server.alias,
            messages=QUESTION,
            stream=True,
            temperature=0,
            max_tokens=24,
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert "Paris" in text
        # A named tool_choice makes llama_cpp.server answer with native tool_calls, streamed in fragments.
        calls_stream = client.chat.completions.create(
            model=llama_server.alias,
            messages=[{"role": "user", "content": "Turn on the kitchen light"}],
            tools=[{"type": "function", "function": {"name": "turn_on", "parameters": {
                "type": "object", "properties": {"entity_id": {"type": "string"}}, "required": ["entity_id"]}}}],
            tool_choice={"type": "function", "function": {"name": "turn_on"}},
            stream=True,
            temperature=0,
            max_tokens=64,
        )  # fmt: skip
        chunks = [chunk for chunk in calls_stream if chunk.choices]
        calls = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
        assert [call.function.name for call in calls if call.function] == ["turn_on"]
        assert calls[0].function is not None
        assert "kitchen" in json.loads(calls[0].function.arguments or "")["entity_id"]
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
    finally:
        backend.stop()


def _tool(name: str, **extra: bool) -> ChatCompletionToolParam:
    return {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {"type": "object", "properties": {"name": {"type": "string", "enum": ["Kitchen light"]}}},
            **extra,  # type: ignore[typeddict-item]
        },
    }


def _tools_sent_to_vllm(log: str) -> list[dict[str, Any]]:
    """The tools of the last chat request the vLLM stand-in received."""
    sent: list[dict[str, Any]] = json.loads(re.findall(r"vllm stand-in tools: (.*)", log)[-1])
    return sent


def test_supervised_vllm_is_started_with_its_options_and_restarted(tmp_path: Path) -> None:
    port = free_port()
    backend = start_backend(
        tmp_path,
        extra_args=(
            "--llm-engine", "vllm", "--llm-model", str(CHAT_GGUF), "--llm-served-name", "qwen-on-vllm",
            "--vllm-executable", f"{VLLM_STAND_IN} --long-log-line", "--vllm-port", str(port),
            "--vllm-max-model-len", "2048",
        ),
        env=OFFLINE,
    )  # fmt: skip
    try:
        wait_for_component(backend, "llm", "ok")
        assert (
            f"vllm stand-in argv: --long-log-line serve {CHAT_GGUF} --host 127.0.0.1 --port {port} "
            "--served-model-name qwen-on-vllm "
            "--gpu-memory-utilization 0.90 --enable-prefix-caching --enable-prompt-tokens-details "
            "--enable-auto-tool-choice --tool-call-parser hermes --max-model-len 2048"
        ) in backend.log()
        client = _client(backend.url)
        answer = client.chat.completions.create(model="qwen-on-vllm", messages=QUESTION, temperature=0, max_tokens=24)
        assert "Paris" in (answer.choices[0].message.content or "")

        # Tools go to vLLM marked strict, so its calls follow their schemas under tool_choice auto too; a tool the
        # client marked non-strict stays so.
        client.chat.completions.create(
            model="qwen-on-vllm",
            messages=[{"role": "user", "content": "Turn on the kitchen light"}],
            tools=[_tool("HassTurnOn"), _tool("remember", strict=False)],
            max_tokens=4,
        )
        sent = _tools_sent_to_vllm(backend.log())
        # The stand-in's over-long log line was left out; the lines after it still arrived.
        assert "a log line over 64 KiB was left out" in backend.log()
        assert [(tool["function"]["name"], tool["function"].get("strict")) for tool in sent] == [
            ("HassTurnOn", True),
            ("remember", False),
        ]
        assert sent[0]["function"]["parameters"] == _tool("HassTurnOn")["function"]["parameters"]

        pid = int(re.findall(r"started vLLM, pid (\d+)", backend.log())[-1])
        os.kill(pid, signal.SIGKILL)
        wait_for_component(backend, "llm", "error")
        with pytest.raises(openai.InternalServerError, match="not available"):
            client.chat.completions.create(model="qwen-on-vllm", messages=QUESTION, max_tokens=4)
        wait_for_component(backend, "llm", "ok")
        assert len(re.findall(r"started vLLM, pid", backend.log())) == 2
        answer = client.chat.completions.create(model="qwen-on-vllm", messages=QUESTION, temperature=0, max_tokens=24)
        assert "Paris" in (answer.choices[0].message.content or "")
    finally:
        backend.stop()


def test_vllm_reports_its_window_and_counts_tokens_with_its_tokenizer(tmp_path: Path) -> None:
    port = free_port()
    vllm_args = ("--vllm-executable", VLLM_STAND_IN, "--vllm-port", str(port))
    no_embeddings = ("--models", str(tmp_path / "no-models"))
    backend = start_backend(
        tmp_path / "vllm",
        extra_args=("--llm-engine", "vllm", "--llm-model", str(CHAT_GGUF), "--llm-served-name", "qwen-on-vllm",
                    *vllm_args, *no_embeddings),
        env=OFFLINE,
    )  # fmt: skip
    try:
        wait_for_component(backend, "llm", "ok")
        # Started without --max-model-len, vLLM says its own window.
        assert "--max-model-len" not in re.findall(r"vllm stand-in argv: (.*)", backend.log())[-1]
        models = http_get(f"{backend.url}/v1/models")[1]["data"]
        assert [(model["id"], model["max_model_len"]) for model in models] == [("qwen-on-vllm", DEFAULT_MAX_MODEL_LEN)]
        assert http_get(f"{backend.url}/v1/havencore/info")[1]["chat_context_length"] == DEFAULT_MAX_MODEL_LEN

        # The count is the prompt_tokens vLLM's own usage gives (the backend streams, where the stand-in has none).
        stand_in = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=120)
        answer = stand_in.chat.completions.create(model="qwen-on-vllm", messages=QUESTION, max_tokens=1)
        assert answer.usage is not None
        status, counted = _tokenize(backend.url, {"model": "qwen-on-vllm", "messages": QUESTION, "max_tokens": 1})
        assert (status, counted) == (200, {"count": answer.usage.prompt_tokens, "max_model_len": DEFAULT_MAX_MODEL_LEN})
        # Tools reach vLLM's /tokenize as they reach its chat completions (strict), so they count as rendered.
        tools = [_tool("HassTurnOn")]
        with_tools = _tokenize(backend.url, {"model": "qwen-on-vllm", "messages": QUESTION, "tools": tools})[1]
        assert with_tools["count"] > counted["count"] + 20
        sent = json.loads(re.findall(r"vllm stand-in tokenize: (.*)", backend.log())[-1])
        assert [(tool["function"]["name"], tool["function"].get("strict")) for tool in sent["tools"]] == [
            ("HassTurnOn", True)
        ]
        assert sent["tools"][0]["function"]["parameters"] == tools[0]["function"]["parameters"]
        assert sent["add_generation_prompt"] is True
        # Plain text without the BOS vLLM would add by default.
        plain = {"model": "qwen-on-vllm", "prompt": " ".join(["light"] * 100)}
        assert _tokenize(backend.url, plain)[1]["count"] == 100
        assert json.loads(re.findall(r"vllm stand-in tokenize: (.*)", backend.log())[-1])["add_special_tokens"] is False

        # An upstream that reports its window (here the same vLLM) overrides the configured one, but cannot count.
        upstream = start_backend(
            tmp_path / "upstream",
            extra_args=("--llm-engine", "upstream", "--llm-upstream-url", f"http://127.0.0.1:{port}/v1",
                        "--llm-context-length", "1000", *no_embeddings),
            env=OFFLINE,
        )  # fmt: skip
        try:
            wait_for_component(upstream, "llm", "ok")
            assert http_get(f"{upstream.url}/v1/havencore/info")[1]["chat_context_length"] == DEFAULT_MAX_MODEL_LEN
            assert _tokenize(upstream.url, plain | {"model": "qwen-on-vllm"})[0] == 501
        finally:
            upstream.stop()
    finally:
        backend.stop()


def test_without_models_the_parts_are_not_configured(tmp_path: Path) -> None:
    # No model settings and an empty packaged-models folder: nothing to fall back on.
    backend = start_backend(tmp_path, extra_args=("--models", str(tmp_path / "no-models")))
    try:
        status, health = http_get(f"{backend.url}/health")
        assert status == 200
        assert health["components"]["llm"]["status"] == "not_configured"
        assert health["components"]["embeddings"]["status"] == "not_configured"
        client = _client(backend.url)
        with pytest.raises(openai.InternalServerError) as raised:
            client.chat.completions.create(model="any", messages=QUESTION)
        assert raised.value.code == "model_not_configured"
        assert list(client.models.list()) == []
        assert http_get(f"{backend.url}/v1/havencore/info")[1]["chat_context_length"] is None
        status, refused = _tokenize(backend.url, {"model": "any", "prompt": "hi"})
        assert (status, refused["error"]["code"]) == (503, "model_not_configured")
    finally:
        backend.stop()


def test_a_model_that_cannot_load_is_reported_and_retried(tmp_path: Path) -> None:
    gguf = tmp_path / "models" / "late.gguf"
    backend = start_backend(tmp_path / "data", extra_args=("--llm-model", str(gguf)), env=OFFLINE)
    try:
        entry = wait_for_component(backend, "llm", "error")
        assert "no GGUF file" in entry["detail"]
        assert http_get(f"{backend.url}/health")[0] == 503
        client = _client(backend.url)
        with pytest.raises(openai.InternalServerError) as raised:
            client.chat.completions.create(model="late", messages=QUESTION)
        assert raised.value.code == "model_unavailable"
        assert "no GGUF file" in raised.value.message
        status, refused = _tokenize(backend.url, {"model": "late", "messages": QUESTION})
        assert status == 503
        assert refused["error"]["code"] == "model_unavailable"

        gguf.parent.mkdir()
        gguf.symlink_to(CHAT_GGUF)
        wait_for_component(backend, "llm", "ok")
        answer = client.chat.completions.create(model="late", messages=QUESTION, temperature=0, max_tokens=24)
        assert "Paris" in (answer.choices[0].message.content or "")
    finally:
        backend.stop()
