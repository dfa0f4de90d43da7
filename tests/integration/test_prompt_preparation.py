"""The agent's prompt is computed by the real backend before the first turn, which then finds it cached."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_clear_traces, async_get_traces
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar

from custom_components.havencore.const import CONF_MAX_TOKENS, CONF_PREPARE_PROMPT, CONF_PROMPT, DEFAULT_PROMPT
from tests.backend_process import RunningBackend, start_backend
from tests.integration.agent import AGENT, async_set_up_agent, traced_requests
from tests.integration.conftest import API_KEY
from tests.integration.home import async_set_up_home


def _first_turn_stats() -> dict[str, int]:
    """The token counts of the first model step in the traced conversations."""
    stats: list[dict[str, int]] = [
        event["data"]["stats"]
        for trace in async_get_traces()
        for event in trace.as_dict()["events"]
        if "stats" in event.get("data", {})
    ]
    assert stats
    return stats[0]


async def _set_up_own_agent(hass: HomeAssistant, backend: RunningBackend, **options: Any) -> None:
    """Sets up an agent whose instructions no earlier request had and lets it prepare."""
    await async_set_up_home(hass)
    # A prompt of its own, so whatever the backend computed before shares no more than the chat template's start.
    prompt = f"Session {uuid.uuid4().hex}. {DEFAULT_PROMPT}"
    await async_set_up_agent(hass, backend, extra={CONF_PROMPT: prompt, CONF_MAX_TOKENS: 8, **options})
    await hass.async_block_till_done(wait_background_tasks=True)


async def _ask(hass: HomeAssistant) -> dict[str, int]:
    """Asks the agent a question; returns the token counts of its first model step."""
    async_clear_traces()
    await conversation.async_converse(hass, "Tell me a joke.", None, Context(), agent_id=AGENT)
    return _first_turn_stats()


async def _first_turn(hass: HomeAssistant, backend: RunningBackend, **options: Any) -> dict[str, int]:
    """Sets up an agent of its own, lets it prepare, and asks it a first question."""
    await _set_up_own_agent(hass, backend, **options)
    return await _ask(hass)


async def test_the_first_turn_finds_its_prompt_prepared(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    stats = await _first_turn(hass_with_core, backend)

    # The system message, the tools and the date were computed ahead: only the time and the question were not.
    assert stats["input_tokens"] > 500
    assert stats["cached_input_tokens"] >= stats["input_tokens"] - 30


async def test_without_preparation_the_first_turn_computes_it(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    stats = await _first_turn(hass_with_core, backend, **{CONF_PREPARE_PROMPT: False})

    assert stats["cached_input_tokens"] < 20


@pytest.fixture
def loading_backend(tmp_path: Path, socket_enabled: None) -> Iterator[RunningBackend]:
    """A backend whose chat model never becomes available (the file is missing), so chat requests get a 503."""
    running = start_backend(tmp_path / "data", api_key=API_KEY, extra_args=("--llm-model", str(tmp_path / "x.gguf")))
    yield running
    running.stop()


async def test_a_model_that_is_not_available_yet_is_asked_again(
    hass_with_core: HomeAssistant,
    loading_backend: RunningBackend,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("custom_components.havencore.prompt_preparation.PREPARE_PROMPT_RETRY_SECONDS", 0.01)
    monkeypatch.setattr("custom_components.havencore.prompt_preparation.PREPARE_PROMPT_ATTEMPTS", 3)
    caplog.set_level(logging.DEBUG, logger="custom_components.havencore")

    await async_set_up_agent(hass_with_core, loading_backend)
    await hass_with_core.async_block_till_done(wait_background_tasks=True)

    assert caplog.text.count("its model is not available yet") == 3
    assert "Gave up preparing the prompt" in caplog.text


@pytest.fixture
def own_backend(tmp_path: Path, socket_enabled: None) -> Iterator[RunningBackend]:
    """A backend this test may stop and start again on the same port."""
    running = start_backend(tmp_path / "data", api_key=API_KEY, wait_until_loaded=True)
    yield running
    running.stop()


def _prepared(backend: RunningBackend) -> int:
    """How many one-token requests (preparations) the backend's chat engine has answered."""
    return sum("1 generated" in line for line in backend.log().splitlines() if "llama.cpp turn" in line)


async def test_the_prompt_is_prepared_again_when_the_backend_comes_back_and_when_exposure_changes(
    hass_with_core: HomeAssistant, own_backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    hass = hass_with_core
    monkeypatch.setattr("custom_components.havencore.availability.RECOVERY_PROBE_SECONDS", 0.2)
    monkeypatch.setattr("custom_components.havencore.prompt_preparation.PREPARE_AFTER_CHANGES_SECONDS", 0.05)
    await async_set_up_home(hass)
    await async_set_up_agent(hass, own_backend)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _prepared(own_backend) == 1
    own_backend.stop()
    await conversation.async_converse(hass, "Tell me a joke.", None, Context(), agent_id=AGENT)

    port = int(own_backend.url.rsplit(":", 1)[1])
    restarted = start_backend(own_backend.data_dir, api_key=API_KEY, port=port, wait_until_loaded=True)
    try:
        # The real recovery probe notices the backend's return, which starts a preparation.
        for _ in range(100):
            await asyncio.sleep(0.1)
            if (state := hass.states.get(AGENT)) is not None and state.state != STATE_UNAVAILABLE:
                break
        await hass.async_block_till_done(wait_background_tasks=True)
        assert _prepared(restarted) == 1

        # Hiding two devices in a row: one more preparation, after both.
        async_expose_entity(hass, conversation.DOMAIN, "light.kitchen_light", False)
        async_expose_entity(hass, conversation.DOMAIN, "light.bedroom_light", False)
        await asyncio.sleep(0.2)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert _prepared(restarted) == 2
    finally:
        restarted.stop()


async def test_renaming_an_area_prepares_the_prompt_again(
    hass_with_core: HomeAssistant, backend: RunningBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    hass = hass_with_core
    monkeypatch.setattr("custom_components.havencore.prompt_preparation.PREPARE_AFTER_CHANGES_SECONDS", 0.05)
    await _set_up_own_agent(hass, backend)
    areas = ar.async_get(hass)
    kitchen = areas.async_get_area_by_name("Kitchen")
    assert kitchen is not None

    # The overview now says the new name, from the middle of the prompt on.
    areas.async_update(kitchen.id, name="Cooking corner")
    await asyncio.sleep(0.2)
    await hass.async_block_till_done(wait_background_tasks=True)
    stats = await _ask(hass)

    assert "Cooking corner" in traced_requests()[0]["messages"][0]["content"]
    assert stats["cached_input_tokens"] >= stats["input_tokens"] - 30
