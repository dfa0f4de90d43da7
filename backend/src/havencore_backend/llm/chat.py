"""The chat service: runs a request on the configured engine and turns whatever the model wrote into tool calls."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

from .engine import ChatDelta, ChatEngine, ChatRequest
from .tool_calls import ParsedToolCall, ToolCallStream


def offered_tool_names(request: ChatRequest) -> frozenset[str]:
    """The tools the model may call in this turn (none when ``tool_choice`` is ``"none"``)."""
    if request.tool_choice == "none":
        return frozenset()
    return frozenset(str(tool["function"]["name"]) for tool in request.tools)


class ChatService:
    """What the protocol adapters call: one engine behind it, tool-call parsing on top."""

    def __init__(self, engine: ChatEngine) -> None:
        self.engine = engine

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatDelta]:
        """Yields the answer: an empty first piece once the engine accepted the request, prose as it is safe to
        show, and a last piece with the tool calls found, the finish reason and the token counts."""
        tool_names = offered_tool_names(request)
        splitter = ToolCallStream(tool_names)
        calls: list[ParsedToolCall] = []
        started = False
        async with contextlib.aclosing(self.engine.stream(request)) as deltas:
            async for delta in deltas:
                if not started:
                    started = True
                    yield ChatDelta()
                text = splitter.feed(delta.text) if tool_names else delta.text
                calls.extend(delta.tool_calls)
                if delta.finish_reason is None:
                    if text:
                        yield ChatDelta(text=text)
                    continue
                if tool_names:
                    held = splitter.finish()
                    text += held.content
                    calls.extend(held.tool_calls)
                yield ChatDelta(
                    text=text,
                    tool_calls=tuple(calls),
                    finish_reason="tool_calls" if calls else delta.finish_reason,
                    prompt_tokens=delta.prompt_tokens,
                    completion_tokens=delta.completion_tokens,
                    cached_tokens=delta.cached_tokens,
                )
                return
