"""Stands in for ``vllm serve`` in tests: prints the command line it got, then serves as ``llama_cpp.server`` does.

vLLM needs a CUDA GPU; its HTTP side is OpenAI-compatible, which ``llama_cpp.server`` is too. The stand-in also
prints the ``tools`` of every chat request, so tests can see what the backend asks vLLM to enforce, and serves what
vLLM adds: ``max_model_len`` in ``/v1/models`` and the ``/tokenize`` route.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import uvicorn
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.server.app import create_app
from llama_cpp.server.settings import ModelSettings, ServerSettings
from starlette.responses import JSONResponse

type ASGIMessage = dict[str, Any]

# The window the stand-in serves without --max-model-len (vLLM would take the model's own, 32k for this one).
DEFAULT_MAX_MODEL_LEN = 3072


async def _body(receive: Any) -> list[ASGIMessage]:
    messages: list[ASGIMessage] = [await receive()]
    while messages[-1].get("more_body"):
        messages.append(await receive())
    return messages


def _json(messages: list[ASGIMessage]) -> Any:
    try:
        return json.loads(b"".join(message.get("body", b"") for message in messages))
    except ValueError:
        return None


class VLLMRoutes:
    """ASGI middleware: vLLM's ``/v1/models`` (with ``max_model_len``) and ``/tokenize``, counted as vLLM does: a
    chat in the model's template with the generation prompt and no BOS added, plain text with BOS unless
    ``add_special_tokens`` is false. Every other request goes on to ``llama_cpp.server``."""

    def __init__(self, app: Any, model: str, served_name: str, max_model_len: int) -> None:
        self._app = app
        self._served_name = served_name
        self._max_model_len = max_model_len
        self._vocab = Llama(model_path=model, vocab_only=True, verbose=False)
        self._formatter = Jinja2ChatFormatter(
            template=self._vocab.metadata["tokenizer.chat_template"],
            eos_token=self._vocab.detokenize([self._vocab.token_eos()], special=True).decode(),
            bos_token=self._vocab.detokenize([self._vocab.token_bos()], special=True).decode(),
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/models":
            model = {"id": self._served_name, "object": "model", "max_model_len": self._max_model_len}
            await JSONResponse({"object": "list", "data": [model]})(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/tokenize":
            body = _json(await _body(receive))
            print("vllm stand-in tokenize:", json.dumps(body, sort_keys=True), flush=True)
            await self._tokenize(body)(scope, receive, send)
        else:
            await self._app(scope, receive, send)

    def _tokenize(self, body: Any) -> JSONResponse:
        if not isinstance(body, dict) or body.get("model") != self._served_name:
            return JSONResponse({"error": {"message": "unknown model", "code": 404}}, status_code=404)
        if "prompt" in body:
            text, add_bos = str(body["prompt"]), bool(body.get("add_special_tokens", True))
        else:
            formatted = self._formatter(messages=body["messages"], tools=body.get("tools"))
            text, add_bos = formatted.prompt, bool(body.get("add_special_tokens", False))
        tokens = self._vocab.tokenize(text.encode(), add_bos=add_bos, special=True)
        return JSONResponse({"count": len(tokens), "max_model_len": self._max_model_len, "tokens": tokens})


class PrintChatTools:
    """ASGI middleware: prints each chat request's tools as one JSON line, then passes the request on unchanged."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions":
            await self._app(scope, receive, send)
            return
        messages = await _body(receive)
        body = _json(messages)
        tools = body.get("tools") if isinstance(body, dict) else None
        if tools is not None:
            print("vllm stand-in tools:", json.dumps(tools, sort_keys=True), flush=True)

        async def replay() -> ASGIMessage:
            return messages.pop(0) if messages else await receive()

        await self._app(scope, replay, send)


def main() -> None:
    """Parses the vLLM arguments the backend passes and serves the model with the matching llama.cpp settings.

    llama.cpp's server would abort a generation whenever another request (a health probe) arrives; vLLM does not.
    """
    print("vllm stand-in argv:", " ".join(sys.argv[1:]), flush=True)
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("model")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--served-model-name", required=True)
    parser.add_argument("--max-model-len", type=int, default=DEFAULT_MAX_MODEL_LEN)
    parser.add_argument("--long-log-line", action="store_true", help="print a 100,000-character line first")
    known, _ = parser.parse_known_args()
    if known.long_log_line:
        print("vllm stand-in long line:", "." * 100_000, flush=True)
    app = create_app(
        server_settings=ServerSettings(host=known.host, port=known.port, interrupt_requests=False),
        model_settings=[
            ModelSettings(model=known.model, model_alias=known.served_model_name, n_ctx=known.max_model_len)
        ],
    )
    routes = VLLMRoutes(PrintChatTools(app), known.model, known.served_model_name, known.max_model_len)
    uvicorn.run(routes, host=known.host, port=known.port, log_level="warning")


if __name__ == "__main__":
    main()
