"""Each turn's retrieval: the user's memories and document passages closest to what was said, added to the prompt
after its static part so the prompt's prefix stays the same from turn to turn (and the backend's cache reusable)."""

from __future__ import annotations

import asyncio

from homeassistant.components import conversation

from .api import HavenCoreError, MemoryRecord, PassageMatch
from .const import (
    CAPABILITY_MEMORY,
    CHARS_PER_TOKEN,
    DOCUMENT_SEARCH_LIMIT,
    LOGGER,
    MEMORY_LOOKUP_TIMEOUT,
    MEMORY_MIN_SCORE,
    MEMORY_SEARCH_LIMIT,
)
from .memory_scope import memory_user_id
from .runtime import HavenCoreConfigEntry

MEMORY_HEADING = "What you remember that may help with this request (use it only where it fits):"


def memory_block(memories: list[MemoryRecord], passages: list[PassageMatch], token_budget: int) -> str:
    """The best matches above the score threshold as prompt lines, best first, within about ``token_budget``."""
    scored = [(memory.score or 0.0, f"- {memory.text}") for memory in memories]
    scored += [(passage.score, f"- From {passage.title}: {passage.text}") for passage in passages]
    lines: list[str] = []
    room = token_budget * CHARS_PER_TOKEN - len(MEMORY_HEADING)
    for score, line in sorted(scored, key=lambda item: item[0], reverse=True):
        if score < MEMORY_MIN_SCORE:
            break
        if len(line) + 1 > room:
            continue
        lines.append(line)
        room -= len(line) + 1
    return "\n".join([MEMORY_HEADING, *lines]) if lines else ""


async def async_memory_context(
    entry: HavenCoreConfigEntry, user_input: conversation.ConversationInput, token_budget: int
) -> str:
    """What the backend remembers about the user's words, for this turn's context; empty without memory."""
    runtime = entry.runtime_data
    if (
        token_budget <= 0
        or CAPABILITY_MEMORY not in runtime.info.capabilities
        or not runtime.availability.available  # no waiting on a backend known to be gone
    ):
        return ""
    user_id = memory_user_id(user_input.context.user_id)
    try:
        async with asyncio.timeout(MEMORY_LOOKUP_TIMEOUT):
            memories, passages = await asyncio.gather(
                runtime.client.async_search_memories(user_id, user_input.text, MEMORY_SEARCH_LIMIT),
                runtime.client.async_search_documents(user_input.text, DOCUMENT_SEARCH_LIMIT),
            )
    except (HavenCoreError, TimeoutError) as err:
        LOGGER.debug("No memories for this turn: %s", err)
        return ""
    return memory_block(memories, passages, token_budget)
