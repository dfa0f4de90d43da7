"""The one interface every chat engine implements, and the values that cross it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol

from havencore_backend.components import ComponentStatus

from .tool_calls import ParsedToolCall

type JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat turn to generate; messages and tools keep the OpenAI shape (tool-call arguments as JSON strings)."""

    messages: list[JSONObject]
    tools: list[JSONObject] = field(default_factory=list)
    tool_choice: str | JSONObject = "auto"
    json_schema: JSONObject | None = None  # None: free text; {}: any JSON object; else an object of this schema
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Values a tool parameter of this name may take, for decoding only: the prompt shows ``tools`` as sent.
    tool_argument_values: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatDelta:
    """A piece of a generated answer; the last one carries the finish reason and the token counts."""

    text: str = ""
    tool_calls: tuple[ParsedToolCall, ...] = ()  # complete calls an engine parsed itself (vLLM, upstreams)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV cache was reused instead of evaluated


@dataclass(frozen=True, slots=True)
class TokenCount:
    """How many tokens a prompt takes in the model's own tokenizer, and the model's context window."""

    count: int
    max_model_len: int


class ChatEngineUnavailableError(Exception):
    """The engine cannot serve right now (loading, crashed, unreachable); the message says why."""


class ChatRequestError(Exception):
    """The request cannot be served as asked (too long for the context, a schema the engine rejects, ...)."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


class TokenCountUnsupportedError(Exception):
    """The engine cannot count tokens with the model's tokenizer (an upstream without a tokenize route)."""


class ChatEngine(Protocol):
    """Generates chat answers; knows nothing of HTTP."""

    @property
    def model_id(self) -> str:
        """The model name clients use."""
        ...

    @property
    def context_length(self) -> int | None:
        """The context window in tokens, prompt and answer together; None while it is not known yet."""
        ...

    def status(self) -> ComponentStatus:
        """Health of the engine, cheap and non-blocking."""
        ...

    async def count_tokens(self, prompt: ChatRequest | str) -> TokenCount:
        """Tokens of a chat request's prompt (its ``usage.prompt_tokens``, also beyond the window) or of plain text
        (no BOS or other special tokens added); never waits for a running generation.

        Raises ``ChatEngineUnavailableError``, ``ChatRequestError`` or ``TokenCountUnsupportedError``.
        """
        ...

    def stream(self, request: ChatRequest) -> AsyncGenerator[ChatDelta]:
        """Yields the answer piece by piece; closing the iterator early stops generation.

        Raises ``ChatEngineUnavailableError`` or ``ChatRequestError`` before the first piece when it cannot serve.
        """
        ...
