"""Token usage from the backend's last stream chunk lands in the conversation trace, as HA's LLM integrations put it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_conversation_trace
from homeassistant.core import HomeAssistant

from custom_components.havencore.usage import token_stats, trace_usage


async def _chunks(items: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


async def test_usage_chunk_is_traced_and_every_chunk_passes_on(hass: HomeAssistant) -> None:
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"content": "Done."}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 812,
                "completion_tokens": 3,
                "total_tokens": 815,
                "prompt_tokens_details": {"cached_tokens": 790},
            },
        },
    ]
    with async_conversation_trace() as trace:
        passed = [chunk async for chunk in trace_usage(conversation.ChatLog(hass, "test"), _chunks(chunks))]
    assert passed == chunks
    details = [event["data"] for event in trace.as_dict()["events"] if event["event_type"] == "agent_detail"]
    assert details == [{"stats": {"input_tokens": 812, "cached_input_tokens": 790, "output_tokens": 3}}]


def test_servers_without_cache_details_report_none_cached() -> None:
    stats = token_stats({"prompt_tokens": 40, "completion_tokens": 2, "total_tokens": 42})
    assert stats == {"stats": {"input_tokens": 40, "cached_input_tokens": 0, "output_tokens": 2}}
