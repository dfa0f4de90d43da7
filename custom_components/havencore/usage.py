"""Records what each chat turn cost in the conversation trace: prompt tokens, how many came from the backend's
prompt cache, and generated tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from homeassistant.components import conversation


def token_stats(usage: dict[str, Any]) -> dict[str, Any]:
    """The trace detail for an OpenAI ``usage`` object, in the shape HA's own LLM integrations trace.

    ``usage`` looks like ``{"prompt_tokens": 812, "completion_tokens": 14, "total_tokens": 826,
    "prompt_tokens_details": {"cached_tokens": 790}}``; the details are missing on servers that do not report them.
    """
    details = usage.get("prompt_tokens_details") or {}
    return {
        "stats": {
            "input_tokens": int(usage.get("prompt_tokens") or 0),
            "cached_input_tokens": int(details.get("cached_tokens") or 0),
            "output_tokens": int(usage.get("completion_tokens") or 0),
        }
    }


async def trace_usage(
    chat_log: conversation.ChatLog, chunks: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    """Passes a chat stream's chunks on unchanged, adding the usage of its last chunk to the conversation trace."""
    async for chunk in chunks:
        if isinstance(usage := chunk.get("usage"), dict):
            chat_log.async_trace(token_stats(usage))
        yield chunk
