"""Any OpenAI-compatible chat server at a URL: a user's own (Ollama, LM Studio, a hosted API) or the vLLM we run."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from havencore_backend.components import ComponentState, ComponentStatus

from .engine import (
    ChatDelta,
    ChatEngineUnavailableError,
    ChatRequest,
    ChatRequestError,
    JSONObject,
    TokenCount,
    TokenCountUnsupportedError,
)
from .tool_calls import ParsedToolCall, json_arguments

_LOGGER = logging.getLogger(__name__)
_PROBE_INTERVAL_OK = 10.0
_PROBE_INTERVAL_DOWN = 1.0


def _upstream_error(response: httpx.Response, body: bytes) -> Exception:
    """A 4xx becomes the client's error (same message), anything else means the upstream cannot serve."""
    try:
        error = json.loads(body).get("error", {})
        message = str(error.get("message") if isinstance(error, dict) else error)
        code = str(error.get("code") or "upstream_error") if isinstance(error, dict) else "upstream_error"
    except (ValueError, AttributeError):
        message, code = body.decode(errors="replace")[:500], "upstream_error"
    if 400 <= response.status_code < 500:
        return ChatRequestError(message or f"upstream answered {response.status_code}", code=code)
    return ChatEngineUnavailableError(f"The chat model upstream failed ({response.status_code}): {message}")


def strict_tool(tool: JSONObject) -> JSONObject:
    """``tool`` marked ``strict`` unless the client said otherwise: vLLM then generates its calls under the tool's
    schema (enums included) even with ``tool_choice`` ``auto``, and only there; prose stays free."""
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, dict):
        return tool
    return tool | {"function": {"strict": True} | function}


def _max_model_len(models: list[Any], model: str) -> int | None:
    """The context window ``model``'s entry in ``/v1/models`` reports (vLLM's ``max_model_len``), if any."""
    for entry in models:
        length = entry.get("max_model_len")
        if entry.get("id") == model and isinstance(length, int) and not isinstance(length, bool) and length > 0:
            return length
    return None


class OpenAICompatibleChatEngine:
    """Streams chat completions from an OpenAI-compatible ``/v1`` URL; also the service that watches it.

    A request's tool-argument values are ignored here: vLLM and other servers constrain calls by the same tools they
    render into the prompt, so the values could only be applied by putting them in the prompt, which they exist to
    keep out of it.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str,
        upstream_model: str,
        model_id: str,
        *,
        context_length: int | None = None,
        strict_tools: bool = False,
        tokenize: bool = False,
    ) -> None:
        """``context_length`` is the window to assume until the upstream reports its own; ``tokenize`` says the
        server has vLLM's ``/tokenize`` beside its ``/v1``."""
        self.name = name
        self._strict_tools = strict_tools
        self._base_url = base_url.rstrip("/")
        self._tokenize_url = f"{self._base_url.removesuffix('/v1')}/tokenize" if tokenize else None
        self._configured_context_length = context_length
        self._reported_context_length: int | None = None
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._upstream_model = upstream_model
        self._model_id = model_id
        self._starting = False
        self._streams = 0  # probes wait while requests run: llama_cpp.server aborts a generation on any new request
        self._status = ComponentStatus(ComponentState.LOADING, f"connecting to {self._base_url}")
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))

    @property
    def model_id(self) -> str:
        """The model name clients use (the upstream's own name when none was configured)."""
        return self._model_id or self._upstream_model

    @property
    def context_length(self) -> int | None:
        """What the upstream's ``/v1/models`` reports once it answered, else the configured window."""
        return self._reported_context_length or self._configured_context_length

    def status(self) -> ComponentStatus:
        """OK while the upstream lists its models."""
        return self._status

    def expect_startup(self, detail: str) -> None:
        """A supervised server is (re)starting: failed probes mean LOADING until it answers."""
        self._starting = True
        self._status = ComponentStatus(ComponentState.LOADING, detail)

    def report_down(self, detail: str) -> None:
        """A supervised server stopped."""
        self._starting = False
        self._status = ComponentStatus(ComponentState.ERROR, detail)

    async def _probe(self) -> None:
        try:
            response = await self._client.get(f"{self._base_url}/models", headers=self._headers)
            response.raise_for_status()
            entries = list(response.json().get("data", []))
            models = [str(model["id"]) for model in entries]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            if not self._starting:
                self._status = ComponentStatus(ComponentState.ERROR, f"{self._base_url} does not answer: {err}")
            return
        if not self._upstream_model and models:
            self._upstream_model = models[0]
        self._reported_context_length = _max_model_len(entries, self._upstream_model)
        self._starting = False
        self._status = ComponentStatus(ComponentState.OK, f"{self.model_id} at {self._base_url}")

    async def run(self) -> None:
        """Checks the upstream every few seconds (every second while it is down) until cancelled."""
        try:
            while True:
                if not self._streams:
                    await self._probe()
                ok = self._status.state is ComponentState.OK
                await asyncio.sleep(_PROBE_INTERVAL_OK if ok else _PROBE_INTERVAL_DOWN)
        finally:
            await self._client.aclose()

    def _tools(self, request: ChatRequest) -> list[JSONObject]:
        return [strict_tool(tool) for tool in request.tools] if self._strict_tools else request.tools

    def _body(self, request: ChatRequest) -> JSONObject:
        body: JSONObject = {
            "model": self._upstream_model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            body |= {"tools": self._tools(request), "tool_choice": request.tool_choice}
        if request.json_schema is not None:
            body["response_format"] = (
                {"type": "json_schema", "json_schema": {"name": "response", "schema": request.json_schema}}
                if request.json_schema
                else {"type": "json_object"}
            )
        optional = {
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
            "stop": list(request.stop) or None,
        }
        return body | {key: value for key, value in optional.items() if value is not None}

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatDelta]:
        """Relays the upstream's stream; tool-call fragments are joined into whole calls at the end."""
        if self._status.state is not ComponentState.OK:
            raise ChatEngineUnavailableError(f"The chat model is not available: {self._status.detail}")
        calls: dict[int, dict[str, str]] = {}
        finish_reason = "stop"
        usage: dict[str, Any] = {}
        self._streams += 1
        try:
            async with self._client.stream(
                "POST", f"{self._base_url}/chat/completions", json=self._body(request), headers=self._headers
            ) as response:
                if response.status_code >= 400:
                    raise _upstream_error(response, await response.aread())
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        delta = choice.get("delta") or {}
                        for call in delta.get("tool_calls") or []:
                            joined = calls.setdefault(int(call.get("index", len(calls))), {"name": "", "arguments": ""})
                            function = call.get("function") or {}
                            # OpenAI sends the name once, whole; some servers repeat it in every fragment.
                            joined["name"] = joined["name"] or function.get("name") or ""
                            joined["arguments"] += function.get("arguments") or ""
                        finish_reason = choice.get("finish_reason") or finish_reason
                        if delta.get("content"):
                            yield ChatDelta(text=delta["content"])
        except httpx.HTTPError as err:
            raise ChatEngineUnavailableError(f"The chat model upstream {self._base_url} failed: {err}") from err
        finally:
            self._streams -= 1
        yield ChatDelta(
            tool_calls=tuple(
                ParsedToolCall(name=call["name"], arguments=json_arguments(call["arguments"]))
                for _, call in sorted(calls.items())
            ),
            finish_reason=finish_reason,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            cached_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
        )

    async def count_tokens(self, prompt: ChatRequest | str) -> TokenCount:
        """Asks vLLM's ``/tokenize`` (the tools as a chat request would send them, so the count is its usage);
        other upstreams have no such route."""
        if self._tokenize_url is None:
            raise TokenCountUnsupportedError(f"The chat model upstream {self._base_url} cannot count tokens.")
        if self._status.state is not ComponentState.OK:
            raise ChatEngineUnavailableError(f"The chat model is not available: {self._status.detail}")
        body: JSONObject = {"model": self._upstream_model}
        if isinstance(prompt, str):
            body |= {"prompt": prompt, "add_special_tokens": False}
        else:
            body |= {"messages": prompt.messages, "add_generation_prompt": True}
            body |= {"tools": self._tools(prompt)} if prompt.tools else {}
        try:
            response = await self._client.post(self._tokenize_url, json=body, headers=self._headers)
            if response.status_code == 404:
                raise TokenCountUnsupportedError(f"{self._tokenize_url} does not exist.")
            if response.status_code >= 400:
                raise _upstream_error(response, response.content)
            counted = response.json()
            return TokenCount(int(counted["count"]), int(counted["max_model_len"]))
        except httpx.HTTPError as err:
            raise ChatEngineUnavailableError(f"The chat model upstream {self._base_url} failed: {err}") from err
        except (ValueError, KeyError, TypeError) as err:
            raise ChatEngineUnavailableError(f"{self._tokenize_url} answered without a count: {err}") from err
