"""An Ollama stand-in for the reference Assist stack: the part of Ollama's HTTP API that Home Assistant's ``ollama``
integration uses, over the backend's own llama.cpp engine on the packaged GGUF.

The Ollama server itself cannot be installed where the benchmarks run (only package registries are reachable), and
HA 2026.2.3's ``openai_conversation`` cannot be pointed at a local URL, so a user with a llama.cpp model would reach
it through ``ollama``. This serves ``/api/tags`` (the model list the config flow reads) and ``/api/chat`` (NDJSON
stream with tools, Ollama's shapes), with the same engine, context length and threads as HavenCore's backend, so
both stacks run the same model the same way. Where Ollama would truncate a prompt longer than the context, this
refuses it, as HavenCore's backend does.

For the prompt-size benchmark it also counts prompt tokens: ``POST /bench/prompt_tokens`` with an OpenAI-shaped
``{"messages": [...], "tools": [...]}`` (HavenCore's requests), and ``GET /bench/prompt_tokens`` for each ``/api/chat``
request it has received so far.

Usage: ``.venv/bin/python -m bench.ollama_standin --port N`` from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from havencore_backend.components import ComponentState
from havencore_backend.llm.chat import ChatService
from havencore_backend.llm.engine import ChatDelta, ChatEngineUnavailableError, ChatRequest, ChatRequestError
from havencore_backend.llm.llamacpp import GGUFSource, LlamaCppChatEngine
from havencore_backend.settings import Settings
from tests.backend_process import MODELS_DIR

MODEL_NAME = "qwen2.5-coder:0.5b"
GGUF = MODELS_DIR / "qwen2.5-coder-0.5b-instruct-q4_k_m" / "model.gguf"
# Ollama's sampling defaults where the request sets none (HA's integration sets none).
OLLAMA_TEMPERATURE = 0.8
OLLAMA_TOP_P = 0.9
# Ollama generates without a cap by default; HavenCore's agent asks for at most 400 tokens. The same cap here keeps
# a rambling reply from stalling the run and makes both stacks stop at the same length.
MAX_TOKENS = 400


def openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ollama's chat messages in the OpenAI shape the engine takes: tool-call arguments become JSON strings, e.g.
    ``{"role": "assistant", "tool_calls": [{"function": {"name": "HassTurnOn", "arguments": {"name": "x"}}}]}``."""
    shaped: list[dict[str, Any]] = []
    for message in messages:
        converted: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
        if calls := message.get("tool_calls"):
            converted["tool_calls"] = [
                {
                    "id": f"call_{index}",
                    "type": "function",
                    "function": {
                        "name": call["function"]["name"],
                        "arguments": json.dumps(call["function"].get("arguments") or {}),
                    },
                }
                for index, call in enumerate(calls)
            ]
        shaped.append(converted)
    return shaped


def chat_request(body: dict[str, Any]) -> ChatRequest:
    """An Ollama ``/api/chat`` body as the engine's request (``options`` as Ollama reads them)."""
    options = body.get("options") or {}
    stop = options.get("stop") or []
    return ChatRequest(
        messages=openai_messages(body.get("messages") or []),
        tools=list(body.get("tools") or []),
        temperature=options.get("temperature", OLLAMA_TEMPERATURE),
        top_p=options.get("top_p", OLLAMA_TOP_P),
        max_tokens=min(int(options.get("num_predict") or MAX_TOKENS), MAX_TOKENS),
        stop=tuple(stop) if isinstance(stop, list) else (str(stop),),  # Ollama takes a list or one string
        seed=options.get("seed"),
    )


def _chunk(model: str, message: dict[str, Any], **fields: Any) -> bytes:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    line = {"model": model, "created_at": created, "message": {"role": "assistant", **message}, **fields}
    return (json.dumps(line) + "\n").encode()


def _ollama_tool_calls(delta: ChatDelta) -> list[dict[str, Any]]:
    return [{"function": {"name": call.name, "arguments": json.loads(call.arguments)}} for call in delta.tool_calls]


async def _ndjson(model: str, first: ChatDelta, deltas: AsyncIterator[ChatDelta]) -> AsyncGenerator[bytes]:
    """Ollama's stream: one line per piece of text, tool calls in the last one with ``done`` and the counts."""
    delta = first
    while True:
        if delta.finish_reason is not None:
            message: dict[str, Any] = {"content": delta.text}
            if delta.tool_calls:
                message["tool_calls"] = _ollama_tool_calls(delta)
            yield _chunk(
                model,
                message,
                done=True,
                done_reason="stop" if delta.tool_calls else delta.finish_reason,
                prompt_eval_count=delta.prompt_tokens,
                eval_count=delta.completion_tokens,
            )
            return
        if delta.text:
            yield _chunk(model, {"content": delta.text}, done=False)
        delta = await anext(deltas)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(engine: LlamaCppChatEngine, model_name: str) -> FastAPI:
    """The stand-in's routes over a (loading or loaded) engine."""
    chat = ChatService(engine)
    received: list[ChatRequest] = []
    app = FastAPI()

    @app.get("/api/version")
    async def version() -> dict[str, str]:
        return {"version": "0.0.0-havencore-bench"}

    @app.get("/api/tags")
    async def tags() -> dict[str, Any]:
        details = {"format": "gguf", "family": "qwen2", "parameter_size": "494M", "quantization_level": "Q4_K_M"}
        size = GGUF.stat().st_size
        return {"models": [{"name": model_name, "model": model_name, "size": size, "digest": "", "details": details}]}

    @app.post("/api/chat")
    async def chat_route(http_request: Request) -> Response:
        body = await http_request.json()
        if body.get("model") != model_name:
            return _error(404, f"model '{body.get('model')}' not found")
        request = chat_request(body)
        received.append(request)
        deltas = chat.stream(request)
        try:
            first = await anext(deltas)
        except ChatRequestError as err:
            return _error(400, str(err))
        except ChatEngineUnavailableError as err:
            return _error(503, str(err))
        if body.get("stream", True):
            return StreamingResponse(_ndjson(model_name, first, deltas), media_type="application/x-ndjson")
        lines = [json.loads(line) async for line in _ndjson(model_name, first, deltas)]
        reply = lines[-1]
        reply["message"]["content"] = "".join(line["message"]["content"] for line in lines)
        return JSONResponse(reply)

    @app.post("/bench/prompt_tokens")
    async def count_openai_request(http_request: Request) -> dict[str, int]:
        body = await http_request.json()
        request = ChatRequest(messages=body["messages"], tools=list(body.get("tools") or []))
        return {"prompt_tokens": await asyncio.to_thread(engine.count_prompt_tokens, request)}

    @app.get("/bench/prompt_tokens")
    async def count_received() -> list[int]:
        return [await asyncio.to_thread(engine.count_prompt_tokens, request) for request in received]

    return app


async def serve(port: int, model_name: str) -> None:
    """Loads the model as HavenCore's backend does (its default context and threads), then serves on loopback."""
    defaults = Settings()
    engine = LlamaCppChatEngine(GGUFSource(str(GGUF)), model_name, defaults.llm_context_length, defaults.llm_threads)
    loading = asyncio.create_task(engine.run())
    while engine.status().state is not ComponentState.OK:
        if loading.done():
            loading.result()
        await asyncio.sleep(0.1)
    server = uvicorn.Server(uvicorn.Config(create_app(engine, model_name), host="127.0.0.1", port=port))
    try:
        await server.serve()
    finally:
        loading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loading


def main() -> None:
    """Parses the arguments and serves until stopped."""
    parser = argparse.ArgumentParser(prog="bench.ollama_standin", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-name", default=MODEL_NAME, help="the name /api/tags lists")
    args = parser.parse_args()
    if not Path(GGUF).is_file():
        parser.error(f"no packaged GGUF at {GGUF}")
    asyncio.run(serve(args.port, args.model_name))


if __name__ == "__main__":
    main()
