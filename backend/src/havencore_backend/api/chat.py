"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` (with SSE streaming) over the chat service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from havencore_backend.llm.chat import ChatService
from havencore_backend.llm.engine import (
    ChatDelta,
    ChatEngineUnavailableError,
    ChatRequest,
    ChatRequestError,
    JSONObject,
)
from havencore_backend.runtime import BackendRuntime

from .errors import APIError

router = APIRouter(tags=["openai"])

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolCallFunction(BaseModel):
    """``{"name": "turn_on", "arguments": "{\\"entity_id\\": \\"light.kitchen\\"}"}``"""

    name: str
    arguments: str


class ToolCall(BaseModel):
    """A call an assistant message made."""

    id: str
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ContentPart(BaseModel):
    """A part of a multi-part message; only text parts reach text models."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str = ""


class Message(BaseModel):
    """One chat message in OpenAI's shape."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def to_engine(self) -> JSONObject:
        """Plain dict for the engines: text parts joined, ``developer`` read as ``system``."""
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content if part.type == "text")
        message: JSONObject = {"role": "system" if self.role == "developer" else self.role, "content": content or ""}
        if self.tool_calls:
            message["tool_calls"] = [call.model_dump() for call in self.tool_calls]
        if self.tool_call_id:
            message["tool_call_id"] = self.tool_call_id
        if self.name:
            message["name"] = self.name
        return message


class FunctionDefinition(BaseModel):
    """A tool's name, description and JSON-schema parameters."""

    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None
    strict: bool | None = None  # whether calls must follow ``parameters`` exactly; passed on to upstreams and vLLM


class Tool(BaseModel):
    """A tool the model may call."""

    type: Literal["function"]
    function: FunctionDefinition


class NamedToolChoice(BaseModel):
    """``{"type": "function", "function": {"name": "turn_on"}}``"""

    type: Literal["function"]
    function: dict[str, str]


class JSONSchemaFormat(BaseModel):
    """The ``json_schema`` part of ``response_format``."""

    name: str = "response"
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    """``text``, ``json_object`` or ``json_schema``."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None


class StreamOptions(BaseModel):
    """``{"include_usage": true}`` adds a last chunk with the token counts."""

    include_usage: bool = False


type Messages = Annotated[list[Message], Field(min_length=1)]


class ChatParameters(BaseModel):
    """A chat completion request but its messages: the part ``POST /v1/havencore/tokenize`` shares."""

    model: str
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    tool_argument_values: dict[str, list[str]] | None = Field(
        default=None,
        description="HavenCore extension: tool parameter name -> the values a string (or string-array) parameter of "
        "that name may take, enforced while decoding where the engine can (llama.cpp) and never shown in the prompt",
    )

    @field_validator("tool_argument_values", mode="before")
    @classmethod
    def _string_lists(cls, value: Any) -> Any:
        # Checked whole, so any bad part is reported against the field itself and nothing is coerced to a string.
        if value is None or (
            isinstance(value, dict)
            and all(isinstance(values, list) and all(isinstance(v, str) for v in values) for values in value.values())
        ):
            return value
        raise ValueError("must be an object of parameter names to lists of strings")


class ChatCompletionRequest(ChatParameters):
    """The body of ``POST /v1/chat/completions``; fields we do not use are accepted and ignored."""

    messages: Messages


def _tools(body: ChatParameters) -> list[JSONObject]:
    """The tools as plain dicts, after the checks OpenAI makes on them."""
    tools = body.tools or []
    for index, tool in enumerate(tools):
        param = f"tools[{index}].function"
        if not _TOOL_NAME.match(tool.function.name):
            raise APIError(
                400,
                f"Invalid tool name {tool.function.name!r}: use a-z, A-Z, 0-9, _ and -, at most 64.",
                param=f"{param}.name",
                code="invalid_value",
            )
        parameters = tool.function.parameters
        if parameters is not None and parameters.get("type", "object") != "object":
            raise APIError(
                400,
                "Tool parameters must be a JSON schema of type 'object'.",
                param=f"{param}.parameters",
                code="invalid_function_parameters",
            )
    names = [tool.function.name for tool in tools]
    if len(set(names)) != len(names):
        raise APIError(400, "Tool names must be unique.", param="tools", code="invalid_value")
    choice = body.tool_choice
    if isinstance(choice, NamedToolChoice) and choice.function.get("name") not in names:
        raise APIError(
            400,
            f"tool_choice names a tool that was not offered: {choice.function.get('name')!r}.",
            param="tool_choice",
            code="invalid_value",
        )
    if choice == "required" and not tools:
        raise APIError(400, "tool_choice 'required' needs tools.", param="tool_choice", code="invalid_value")
    return [tool.model_dump(exclude_none=True) for tool in tools]


def _json_schema(body: ChatParameters) -> JSONObject | None:
    response_format = body.response_format
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object":
        return {}
    if response_format.json_schema is None or not response_format.json_schema.schema_:
        raise APIError(400, "response_format json_schema needs a schema.", param="response_format.json_schema")
    return response_format.json_schema.schema_


def to_chat_request(body: ChatParameters, messages: list[Message]) -> ChatRequest:
    """The engine-level request for an API body; raises ``APIError`` on tools or formats that cannot work."""
    stop = [body.stop] if isinstance(body.stop, str) else body.stop or []
    choice = body.tool_choice.model_dump() if isinstance(body.tool_choice, NamedToolChoice) else body.tool_choice
    return ChatRequest(
        messages=[message.to_engine() for message in messages],
        tools=_tools(body),
        tool_choice=choice or "auto",
        json_schema=_json_schema(body),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        stop=tuple(stop),
        seed=body.seed,
        tool_argument_values=body.tool_argument_values or {},
    )


def chat_service(request: Request, model: str) -> ChatService:
    """The chat service serving ``model``; raises the API's 503 or 404 when there is none or it serves another."""
    runtime: BackendRuntime = request.app.state.runtime
    if runtime.chat is None:
        raise APIError(
            503, "No chat model is configured on this backend.", error_type="server_error", code="model_not_configured"
        )
    if model != runtime.chat.engine.model_id:
        raise APIError(
            404,
            f"The model '{model}' does not exist; this backend serves '{runtime.chat.engine.model_id}'.",
            error_type="not_found_error",
            param="model",
            code="model_not_found",
        )
    return runtime.chat


def engine_error(err: Exception) -> APIError:
    """The API error for an engine's refusal: the client's 400, or a 503 while the engine cannot serve."""
    if isinstance(err, ChatRequestError):
        return APIError(400, str(err), code=err.code, param=err.param)
    return APIError(503, str(err), error_type="server_error", code="model_unavailable")


@router.get("/v1/models")
async def list_models(request: Request) -> JSONObject:
    """The chat model and the embeddings model this backend serves."""
    runtime: BackendRuntime = request.app.state.runtime
    created = int(time.time())
    models: list[tuple[str, JSONObject]] = []
    if runtime.chat:
        engine = runtime.chat.engine
        # vLLM's name for the context window; absent while a vLLM that was given none has not said its own.
        models.append((engine.model_id, {"max_model_len": engine.context_length} if engine.context_length else {}))
    if runtime.embeddings:
        models.append((runtime.embeddings.model_id, {}))
    return {
        "object": "list",
        "data": [
            {"id": model_id, "object": "model", "created": created, "owned_by": "havencore", **extra}
            for model_id, extra in models
        ],
    }


def _tool_calls_json(delta: ChatDelta, streaming: bool) -> list[JSONObject]:
    return [
        {
            **({"index": index} if streaming else {}),
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for index, call in enumerate(delta.tool_calls)
    ]


def _usage(delta: ChatDelta) -> JSONObject:
    return {
        "prompt_tokens": delta.prompt_tokens,
        "completion_tokens": delta.completion_tokens,
        "total_tokens": delta.prompt_tokens + delta.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": delta.cached_tokens},
    }


async def _sse(
    first: ChatDelta, deltas: AsyncGenerator[ChatDelta], model: str, include_usage: bool
) -> AsyncGenerator[str]:
    """OpenAI chunks as server-sent events; closing ``deltas`` (client gone) stops generation."""
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def event(delta: JSONObject, finish_reason: str | None = None, **extra: Any) -> str:
        chunk = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    async with contextlib.aclosing(deltas):
        yield event({"role": "assistant", "content": first.text})
        async for piece in deltas:
            if piece.finish_reason is None:
                yield event({"content": piece.text})
                continue
            last: JSONObject = {"content": piece.text} if piece.text else {}
            if piece.tool_calls:
                last["tool_calls"] = _tool_calls_json(piece, streaming=True)
            yield event(last, piece.finish_reason)
            if include_usage:
                usage = {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": _usage(piece),
                }
                yield f"data: {json.dumps(usage)}\n\n"
    yield "data: [DONE]\n\n"


async def _collect(first: ChatDelta, deltas: AsyncGenerator[ChatDelta]) -> tuple[str, ChatDelta]:
    text = [first.text]
    async with contextlib.aclosing(deltas):
        async for piece in deltas:
            text.append(piece.text)
            if piece.finish_reason is not None:
                return "".join(text), piece
    raise APIError(503, "The chat engine stopped without finishing.", error_type="server_error")


async def _until_disconnected(request: Request) -> None:
    # The body is read already, so the next ASGI message is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        continue


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> JSONResponse | StreamingResponse:
    """Chat completion, streamed as SSE when ``stream`` is true; tool calls come back as ``tool_calls``."""
    service = chat_service(request, body.model)
    deltas = service.stream(to_chat_request(body, body.messages))
    try:
        first = await anext(deltas)  # engine errors surface here, before any status line is sent
    except (ChatRequestError, ChatEngineUnavailableError) as err:
        raise engine_error(err) from err
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(_sse(first, deltas, body.model, include_usage), media_type="text/event-stream")

    collecting = asyncio.ensure_future(_collect(first, deltas))
    watching = asyncio.ensure_future(_until_disconnected(request))
    await asyncio.wait([collecting, watching], return_when=asyncio.FIRST_COMPLETED)
    watching.cancel()
    if not collecting.done():  # the client left: stop generating for nobody
        collecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collecting
        raise APIError(499, "Client closed the request.")
    try:
        text, last = collecting.result()
    except (ChatRequestError, ChatEngineUnavailableError) as err:
        raise engine_error(err) from err
    message: JSONObject = {"role": "assistant", "content": text or None}
    if last.tool_calls:
        message["tool_calls"] = _tool_calls_json(last, streaming=False)
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [{"index": 0, "message": message, "finish_reason": last.finish_reason}],
            "usage": _usage(last),
        }
    )
