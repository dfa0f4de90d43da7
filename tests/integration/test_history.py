"""Turns recorded in the backend's history, and a user's conversation resumed after HA's chat log expired."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.chat_log import DATA_CHAT_LOGS
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockUser, async_fire_time_changed

from custom_components.havencore.const import (
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_PREFER_LOCAL_INTENTS,
    CONF_RESUME_WINDOW,
    CONF_TEMPERATURE,
)
from tests.backend_process import RunningBackend, http_get, start_backend
from tests.integration.agent_setup import AGENT, async_set_up_agent
from tests.integration.conftest import API_KEY
from tests.integration.home import async_set_up_home


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def _history(backend: RunningBackend, query: str) -> Any:
    status, body = http_get(f"{backend.url}/v1/havencore/history{query}", backend.api_key)
    assert status == 200, body
    return body


async def _converse(
    hass: HomeAssistant, text: str, user: MockUser, device_id: str, conversation_id: str | None = None
) -> conversation.ConversationResult:
    result = await conversation.async_converse(
        hass, text, conversation_id, Context(user_id=user.id), agent_id=AGENT, device_id=device_id
    )
    assert result.response.response_type is not intent.IntentResponseType.ERROR, result.response.speech
    await hass.async_block_till_done(wait_background_tasks=True)
    return result


def _expire_chat_logs(hass: HomeAssistant) -> None:
    """Lets HA's chat session cleanup run as if ten minutes had passed."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=10))


def _chat_log_texts(hass: HomeAssistant, conversation_id: str | None) -> list[tuple[str, str]]:
    """The user's and the assistant's words in a chat log, without the system prompt and tool traffic."""
    assert conversation_id is not None
    return [
        (item.role, item.content)
        for item in hass.data[DATA_CHAT_LOGS][conversation_id].content
        if isinstance(item, conversation.UserContent | conversation.AssistantContent) and item.content
    ]


async def test_local_turn_is_recorded_with_its_user_device_and_agent(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend.url, API_KEY)
    context = Context(user_id=hass_admin_user.id)

    result = await conversation.async_converse(
        hass, "turn on the kitchen light", None, context, agent_id=AGENT, device_id="kitchen-satellite"
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    [summary] = _history(backend, f"?user_id={hass_admin_user.id}")["data"]
    assert summary["id"] == result.conversation_id
    assert summary["device_id"] == "kitchen-satellite"
    [turn] = _history(backend, f"/{result.conversation_id}")["turns"]
    assert turn["user_text"] == "turn on the kitchen light"
    assert turn["assistant_text"] == result.response.speech["plain"]["speech"]
    assert turn["agent"] == AGENT
    assert turn["language"] == hass.config.language
    assert turn["trace_id"] == context.id
    assert turn["timings"]["turn_ms"] > 0
    # Recorded with the call HA's intent matching made, like a model's.
    [call] = turn["tool_calls"]
    assert call["name"] == "HassTurnOn"
    assert call["result"]["response_type"] == "action_done"


async def test_llm_turn_is_recorded_with_its_tool_calls(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    # Greedy, as a sampled first step may be a different (bent, then refused) call; see test_action_check.
    await async_set_up_agent(hass, backend.url, API_KEY, **{CONF_PREFER_LOCAL_INTENTS: False, CONF_TEMPERATURE: 0})

    result = await _converse(hass, "Turn on the kitchen light.", hass_admin_user, "hall-satellite")

    [turn] = _history(backend, f"/{result.conversation_id}")["turns"]
    # Recorded with each call the model made and its result, whichever call the small model picked.
    assert turn["tool_calls"]
    assert all(call["name"].startswith("Hass") and call["result"] for call in turn["tool_calls"])
    assert turn["assistant_text"]


async def test_conversation_resumes_after_ha_forgot_it(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(
        hass, backend.url, API_KEY, **{CONF_PREFER_LOCAL_INTENTS: False, CONF_MAX_TOKENS: 24, CONF_MAX_HISTORY: 2}
    )
    first = await _converse(hass, "Turn on the kitchen light.", hass_admin_user, "bedside")
    earlier_reply = first.response.speech["plain"]["speech"]
    _expire_chat_logs(hass)
    assert first.conversation_id not in hass.data[DATA_CHAT_LOGS]

    # Ten minutes later HA starts a new conversation; the agent continues the one the backend kept.
    second = await _converse(hass, "Turn it off again.", hass_admin_user, "bedside", first.conversation_id)

    assert second.conversation_id != first.conversation_id
    texts = _chat_log_texts(hass, second.conversation_id)
    # The model was asked with the earlier turn before the follow-up, so it knows what "it" is.
    assert texts[:3] == [
        ("user", "Turn on the kitchen light."),
        ("assistant", earlier_reply),
        ("user", "Turn it off again."),
    ]
    turns = _history(backend, f"/{first.conversation_id}")["turns"]
    assert [turn["user_text"] for turn in turns] == ["Turn on the kitchen light.", "Turn it off again."]
    assert _history(backend, f"?user_id={hass_admin_user.id}")["data"][0]["turn_count"] == 2


async def test_resume_keeps_the_latest_turns_and_the_local_path_continues_too(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend.url, API_KEY, **{CONF_MAX_HISTORY: 1})
    first = await _converse(hass, "turn on the kitchen light", hass_admin_user, "desk")
    await _converse(hass, "turn off the kitchen light", hass_admin_user, "desk", first.conversation_id)
    _expire_chat_logs(hass)

    third = await _converse(hass, "turn on the bedroom light", hass_admin_user, "desk")

    # Only the latest earlier turn comes back (max history 1), and the turn joins the same conversation.
    assert _chat_log_texts(hass, third.conversation_id)[0] == ("user", "turn off the kitchen light")
    # With the action it ran, and this turn's local action as a call too: a model reading the history sees that
    # commands are carried out with tools.
    assert third.conversation_id is not None
    content = hass.data[DATA_CHAT_LOGS][third.conversation_id].content
    calls = [
        call.tool_name
        for item in content
        if isinstance(item, conversation.AssistantContent)
        for call in item.tool_calls or ()
    ]
    assert calls == ["HassTurnOff", "HassTurnOn"]
    assert sum(isinstance(item, conversation.ToolResultContent) for item in content) == 2
    assert len(_history(backend, f"/{first.conversation_id}")["turns"]) == 3


@pytest.mark.parametrize(
    ("options", "device_id", "user_id"),
    [
        ({CONF_RESUME_WINDOW: 0}, "porch", "admin"),  # turned off
        ({}, "garage", "admin"),  # another device
        ({}, "porch", None),  # another user (none) on the same device
    ],
)
async def test_no_resume(
    hass_with_core: HomeAssistant,
    backend: RunningBackend,
    hass_admin_user: MockUser,
    options: dict[str, Any],
    device_id: str,
    user_id: str | None,
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend.url, API_KEY, **options)
    await _converse(hass, "turn on the kitchen light", hass_admin_user, "porch")
    _expire_chat_logs(hass)

    result = await conversation.async_converse(
        hass,
        "turn off the kitchen light",
        None,
        Context(user_id=hass_admin_user.id if user_id else None),
        agent_id=AGENT,
        device_id=device_id,
    )

    assert _chat_log_texts(hass, result.conversation_id)[0] == ("user", "turn off the kitchen light")


async def test_anonymous_turn_without_a_device_never_resumes(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend.url, API_KEY)
    await conversation.async_converse(hass, "turn on the kitchen light", None, Context(), agent_id=AGENT)
    await hass.async_block_till_done(wait_background_tasks=True)
    _expire_chat_logs(hass)

    result = await conversation.async_converse(hass, "turn off the kitchen light", None, Context(), agent_id=AGENT)

    assert _chat_log_texts(hass, result.conversation_id)[0] == ("user", "turn off the kitchen light")


@pytest.fixture
def own_backend(tmp_path: Path, socket_enabled: None) -> Iterator[RunningBackend]:
    """A backend this test may stop and start again on the same port."""
    running = start_backend(tmp_path / "data", api_key=API_KEY)
    yield running
    running.stop()


async def test_recording_failures_are_logged_once_and_never_fail_the_reply(
    hass_with_core: HomeAssistant,
    own_backend: RunningBackend,
    hass_admin_user: MockUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, own_backend.url, API_KEY)
    own_backend.stop()

    for _ in range(2):
        # HA's own intents still answer; resuming and recording fail quietly.
        await _converse(hass, "turn on the kitchen light", hass_admin_user, "study")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "could not record" in r.message]
    assert len(warnings) == 1

    port = int(own_backend.url.rsplit(":", 1)[1])
    # The history database opens after /health first answers; wait for it, as a turn a moment later would.
    restarted = start_backend(own_backend.data_dir, api_key=API_KEY, port=port, wait_until_loaded=True)
    try:
        await _converse(hass, "turn off the kitchen light", hass_admin_user, "study")
        assert "records turns again" in caplog.text
        assert len(_history(restarted, f"?user_id={hass_admin_user.id}")["data"]) == 1
    finally:
        restarted.stop()
