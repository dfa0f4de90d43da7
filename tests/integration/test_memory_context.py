"""Each turn's retrieval: the user's relevant memories and document passages reach the prompt within the budget."""

from __future__ import annotations

from typing import Any

from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_get_traces
from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.havencore.api import MemoryRecord, PassageMatch
from custom_components.havencore.const import CONF_MAX_TOKENS, CONF_MEMORY_TOKEN_BUDGET, CONF_PREFER_LOCAL_INTENTS
from custom_components.havencore.memory_context import MEMORY_HEADING, memory_block
from tests.backend_process import RunningBackend, http_json
from tests.integration.agent_setup import AGENT, async_set_up_agent
from tests.integration.conftest import API_KEY

QUICK_LLM: dict[str, Any] = {CONF_PREFER_LOCAL_INTENTS: False, CONF_MAX_TOKENS: 16}


def _memory(text: str, score: float) -> MemoryRecord:
    return MemoryRecord(id=text, user_id="u", kind="fact", text=text, score=score)


def test_block_keeps_the_best_matches_above_the_threshold_within_the_budget() -> None:
    memories = [_memory("Anna sleeps in the guest room.", 0.7), _memory("The cat is called Miso.", 0.1)]
    passages = [PassageMatch("d", "Boiler manual", "Hold reset for five seconds.", 0.8)]

    block = memory_block(memories, passages, token_budget=100)

    assert block.splitlines() == [
        MEMORY_HEADING,
        "- From Boiler manual: Hold reset for five seconds.",
        "- Anna sleeps in the guest room.",
    ]
    # A budget with room for the heading and the shorter line only.
    assert memory_block(memories, passages, token_budget=(len(MEMORY_HEADING) + 40) // 4).splitlines() == [
        MEMORY_HEADING,
        "- Anna sleeps in the guest room.",
    ]
    assert memory_block(memories[1:], [], token_budget=100) == ""


def _add(backend: RunningBackend, path: str, body: dict[str, Any]) -> None:
    status, answer = http_json("POST", f"{backend.url}/v1/havencore/{path}", backend.api_key, body)
    assert status == 200, answer


def _last_request() -> tuple[str, str]:
    """The static system message and this turn's context of the latest chat request, from the debug trace."""
    requests = [
        event["data"]["havencore_request"]
        for trace in async_get_traces()
        for event in trace.as_dict()["events"]
        if "havencore_request" in event.get("data", {})
    ]
    system = [message["content"] for message in requests[-1]["messages"] if message["role"] == "system"]
    return system[0], "\n".join(system[1:])


async def test_relevant_memories_and_passages_reach_the_prompt_after_its_static_part(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_agent(hass, backend.url, API_KEY, **QUICK_LLM)
    user = hass_admin_user.id
    _add(backend, "memories", {"user_id": user, "text": "The guest room belongs to Anna.", "kind": "fact"})
    _add(backend, "memories", {"user_id": user, "text": "I take my coffee black.", "kind": "preference"})
    _add(backend, "memories", {"user_id": "someone-else", "text": "The guest room is Bob's office.", "kind": "fact"})
    _add(
        backend,
        "documents",
        {"title": "Guest room notes", "text": "The guest room radiator valve sticks; turn it twice to open it."},
    )

    result = await conversation.async_converse(
        hass, "Whose is the guest room?", None, Context(user_id=user), agent_id=AGENT
    )
    static, block = _last_request()
    await conversation.async_converse(
        hass, "Tell me a joke.", result.conversation_id, Context(user_id=user), agent_id=AGENT
    )

    assert "- The guest room belongs to Anna." in block
    assert "- From Guest room notes: The guest room radiator valve sticks" in block
    assert "coffee" not in block  # unrelated to the question
    assert "Bob" not in block  # another user's memory
    assert MEMORY_HEADING not in static  # memories join the turn's context, after the cached prefix
    # The next turn's prompt starts with the same static part, byte for byte; nothing is relevant to a joke.
    next_static, next_context = _last_request()
    assert next_static == static
    assert MEMORY_HEADING not in next_context


async def test_a_zero_budget_adds_nothing(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_agent(hass, backend.url, API_KEY, **QUICK_LLM, **{CONF_MEMORY_TOKEN_BUDGET: 0})
    _add(backend, "memories", {"user_id": hass_admin_user.id, "text": "The guest room belongs to Anna."})

    result = await conversation.async_converse(
        hass, "Whose is the guest room?", None, Context(user_id=hass_admin_user.id), agent_id=AGENT
    )

    assert result.conversation_id is not None
    assert MEMORY_HEADING not in "\n".join(_last_request())
