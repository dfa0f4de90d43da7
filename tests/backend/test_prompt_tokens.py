"""Counting prompt tokens (of a chat request or plain text) without generating, on the packaged GGUF in this process."""

from __future__ import annotations

import asyncio
import dataclasses
import time
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


async def test_plain_text_is_counted_without_special_tokens(engine: LlamaCppChatEngine) -> None:
    counted = await engine.count_tokens(" ".join(["light"] * 100))
    assert (counted.count, counted.max_model_len) == (100, CONTEXT)
    # Special-token text counts as one token, as it does inside a prompt.
    assert (await engine.count_tokens("<|im_start|>")).count == 1
    assert (await engine.count_tokens("")).count == 0


async def test_counting_does_not_wait_for_a_running_generation(engine: LlamaCppChatEngine) -> None:
    request = ChatRequest(messages=[{"role": "user", "content": "Count from 1 to 100."}], max_tokens=48, seed=1)
    deltas = engine.stream(request)
    await anext(deltas)  # generating now, under the engine's lock
    counted = await engine.count_tokens(request)
    counted_at = time.monotonic()
    pieces = [delta async for delta in deltas]
    # The answer went on well after the count came back: counting did not wait for the generation to end.
    assert time.monotonic() - counted_at > 0.2
    assert counted.count == pieces[-1].prompt_tokens


async def test_a_3000_token_prompt_is_counted_quickly(engine: LlamaCppChatEngine) -> None:
    system = "The home has a kitchen light, a bedroom lamp and a front door. " * 200
    request = ChatRequest(messages=[{"role": "system", "content": system}, {"role": "user", "content": "Hi"}])
    started = time.perf_counter()
    counted = await engine.count_tokens(request)
    elapsed = time.perf_counter() - started
    print(f"counted {counted.count} prompt tokens in {elapsed * 1000:.1f} ms")
    assert 2800 < counted.count < 3500
    assert elapsed < 1.0


async def test_tool_argument_values_never_reach_the_prompt(engine: LlamaCppChatEngine) -> None:
    request = ChatRequest(messages=[{"role": "user", "content": "Turn on the kitchen light."}], tools=[TURN_ON])
    restricted = dataclasses.replace(request, tool_argument_values={"name": ["Bedroom lamp", "Front door"]})
    assert (await engine.count_tokens(restricted)).count == (await engine.count_tokens(request)).count
