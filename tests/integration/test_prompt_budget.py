"""Every request fits the model's window by construction, counted with the backend's own tokenizer: history is
dropped oldest turn first, tool results are cut to their share, and a request that cannot fit is never sent."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_clear_traces
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import chat_session, llm

from custom_components.havencore.const import CONF_MAX_HISTORY, CONF_MAX_TOKENS, DOMAIN, SUBENTRY_CONVERSATION
from custom_components.havencore.prompt_budget import CUT_MARK, TokenBudget
from custom_components.havencore.runtime import HavenCoreConfigEntry
from custom_components.havencore.turn_prompt import RequestBuilder
from custom_components.havencore.vocabulary import async_exposed_entities
from tests.backend_process import RunningBackend
from tests.integration.agent import AGENT, async_set_up_agent, traced_requests
from tests.integration.home import async_set_up_home

# Leaves a prompt budget of a few hundred tokens in the packaged model's 4,096-token window.
REPLY_RESERVE = 3600
FILLER = "The quick brown fox jumps over the lazy dog near the quiet river bank. "


async def _builder(hass: HomeAssistant, backend: RunningBackend, **options: Any) -> RequestBuilder:
    await async_set_up_agent(hass, backend, local_first=False, extra=options)
    entry: HavenCoreConfigEntry = hass.config_entries.async_entries(DOMAIN)[0]
    subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
    return RequestBuilder(entry, subentry)


def _user(text: str) -> conversation.UserContent:
    return conversation.UserContent(content=text)


def _assistant(text: str) -> conversation.AssistantContent:
    return conversation.AssistantContent(agent_id=AGENT, content=text)


async def test_history_is_dropped_oldest_turn_first_until_the_request_fits(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    builder = await _builder(hass, backend, **{CONF_MAX_TOKENS: REPLY_RESERVE, CONF_MAX_HISTORY: 0})
    budget = builder.budget
    assert budget == TokenBudget(window=4096, reply=REPLY_RESERVE)
    request = {"model": hass.config_entries.async_entries(DOMAIN)[0].runtime_data.default_model}
    with chat_session.async_get_chat_session(hass) as session, conversation.async_get_chat_log(hass, session) as log:
        log.content = [conversation.SystemContent(content="Be brief.")]
        for turn in range(8):
            log.content += [_user(f"Turn {turn}. {FILLER * 3}"), _assistant(f"Answer {turn}. {FILLER}")]
        log.content.append(_user("And now?"))

        fitted = await builder.async_fit(request, log, None)

    assert fitted.prompt_tokens <= budget.prompt
    assert fitted.messages[0] == {"role": "system", "content": "Be brief."}
    assert fitted.messages[-1] == {"role": "user", "content": "And now?"}
    texts = [message["content"] for message in fitted.messages]
    # The latest turns stay, in order; the oldest went.
    assert texts[-3].startswith("Turn 7.")
    assert not any(text.startswith("Turn 0.") for text in texts)
    # As many turns as fit: one more would not.
    assert 1 < len(fitted.messages) < 17
    # The count is the engine's own: the usage of the same request says the same.
    assert fitted.prompt_tokens == await builder.counter.async_count_request({**request, "messages": fitted.messages})


async def test_a_tool_result_is_cut_to_its_share(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    builder = await _builder(hass, backend)
    model = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.default_model
    result = conversation.ToolResultContent(
        agent_id=AGENT, tool_call_id="call_1", tool_name="GetLiveContext", tool_result={"result": FILLER * 400}
    )
    call = llm.ToolInput(tool_name="GetLiveContext", tool_args={}, id="call_1")
    with chat_session.async_get_chat_session(hass) as session, conversation.async_get_chat_log(hass, session) as log:
        log.content = [
            conversation.SystemContent(content="Be brief."),
            _user("What is on?"),
            conversation.AssistantContent(agent_id=AGENT, content=None, tool_calls=[call]),
            result,
        ]
        fitted = await builder.async_fit({"model": model}, log, None)

    tool_message = fitted.messages[-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"].endswith(CUT_MARK)
    assert await builder.counter.async_count_text(model, tool_message["content"]) <= builder.budget.tool_result
    assert fitted.prompt_tokens <= builder.budget.prompt


async def test_a_request_that_cannot_fit_is_never_sent_and_the_user_hears_why(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend, local_first=False)
    async_clear_traces()

    result = await conversation.async_converse(hass, FILLER * 300, None, Context(), agent_id=AGENT)

    assert result.response.speech["plain"]["speech"] == "Sorry, that is more than the model can read at once."
    assert traced_requests() == []


async def test_instructions_too_long_for_the_window_are_a_translated_error(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    builder = await _builder(hass, backend, **{CONF_LLM_HASS_API: [llm.LLM_API_ASSIST]})
    model = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.default_model
    api_prompt = f"Rules.\n{llm.DYNAMIC_CONTEXT_PROMPT}"

    entities = async_exposed_entities(hass)

    listed = await builder.async_home_context(model, "Be brief.", api_prompt, None, entities, "hi")
    assert listed.listed == entities
    with pytest.raises(HomeAssistantError) as raised:
        await builder.async_home_context(model, FILLER * 300, api_prompt, None, entities, "hi")
    assert raised.value.translation_key == "prompt_too_large"
