"""Stands in for ``vllm serve`` in tests: prints the command line it got, then serves as ``llama_cpp.server`` does.

vLLM needs a CUDA GPU; its HTTP side is OpenAI-compatible, which ``llama_cpp.server`` is too. The stand-in also
prints the ``tools`` of every chat request, so tests can see what the backend asks vLLM to enforce.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import uvicorn
from llama_cpp.server.app import create_app
from llama_cpp.server.settings import ModelSettings, ServerSettings

type ASGIMessage = dict[str, Any]


class PrintChatTools:
    """ASGI middleware: prints each chat request's tools as one JSON line, then passes the request on unchanged."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions":
            await self._app(scope, receive, send)
            return
        messages: list[ASGIMessage] = [await receive()]
        while messages[-1].get("more_body"):
            messages.append(await receive())
        try:
            tools = json.loads(b"".join(message.get("body", b"") for message in messages)).get("tools")
        except (ValueError, AttributeError):
            tools = None
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
    parser.add_argument("--long-log-line", action="store_true", help="print a 100,000-character line first")
    known, _ = parser.parse_known_args()
    if known.long_log_line:
        print("vllm stand-in long line:", "." * 100_000, flush=True)
    app = create_app(
        server_settings=ServerSettings(host=known.host, port=known.port, interrupt_requests=False),
        model_settings=[ModelSettings(model=known.model, model_alias=known.served_model_name, n_ctx=2048)],
    )
    uvicorn.run(PrintChatTools(app), host=known.host, port=known.port, log_level="warning")


if __name__ == "__main__":
    main()
