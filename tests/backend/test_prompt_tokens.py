"""Counting a request's prompt tokens without generating, on the real packaged GGUF in this process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from havencore_backend.components import ComponentState
from havencore_backend.llm.engine import ChatRequest, ChatRequestError
from havencore_backend.llm.llamacpp import GGUFSource, LlamaCppChatEngine
from tests.backend.language_models import CHAT_GGUF

CONTEXT = 512
TURN_ON = {
    "type": "function",
    "function": {
        "name": "turn_on",
        "description": "Turns on a device in the home",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    },
}


@pytest.fixture
async def engine() -> AsyncIterator[LlamaCppChatEngine]:
    """The llama.cpp engine with the packaged model loaded, and a small context."""
    loaded = LlamaCppChatEngine(GGUFSource(str(CHAT_GGUF)), "qwen", CONTEXT, 0)
    running = asyncio.create_task(loaded.run())
    async with asyncio.timeout(120):
        while loaded.status().state is not ComponentState.OK:
            assert not running.done(), loaded.status().detail
            await asyncio.sleep(0.05)
    yield loaded
    running.cancel()


async def test_counted_prompt_tokens_are_the_usage_of_the_reply(engine: LlamaCppChatEngine) -> None:
    request = ChatRequest(
        messages=[{"role": "user", "content": "Turn on the kitchen light."}], tools=[TURN_ON], max_tokens=1
    )
    counted = engine.count_prompt_tokens(request)
    last = [delta async for delta in engine.stream(request)][-1]
    assert counted == last.prompt_tokens
    # The offered tools are part of the prompt.
    assert counted > engine.count_prompt_tokens(ChatRequest(messages=request.messages)) + 20


async def test_prompts_longer_than_the_context_are_counted_but_not_generated(engine: LlamaCppChatEngine) -> None:
    request = ChatRequest(messages=[{"role": "user", "content": "light " * CONTEXT}])
    assert engine.count_prompt_tokens(request) > CONTEXT
    with pytest.raises(ChatRequestError, match="maximum context length"):
        async for _ in engine.stream(request):
            pass
