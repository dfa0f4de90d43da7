"""The agent when the backend fails: a short translated error, unavailable while gone, back on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component

from custom_components.havencore.const import CONF_MODEL, CONF_PREFER_LOCAL_INTENTS, DOMAIN, SUBENTRY_CONVERSATION
from custom_components.havencore.diagnostics import async_get_config_entry_diagnostics
from tests.backend_process import RunningBackend, start_backend
from tests.integration.home import async_set_up_home

KEY = "own-backend-key"
BACKEND_FAILED = "Sorry, the HavenCore backend could not do that."


@pytest.fixture
def own_backend(tmp_path: Path, socket_enabled: None) -> Iterator[RunningBackend]:
    """A backend this test may stop and start again on the same port."""
    running = start_backend(tmp_path / "data", api_key=KEY)
    yield running
    running.stop()


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def _restart(backend: RunningBackend) -> RunningBackend:
    port = int(backend.url.rsplit(":", 1)[1])
    return start_backend(backend.data_dir, api_key=KEY, port=port)


async def _set_up(hass: HomeAssistant, url: str) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: url, CONF_API_KEY: KEY})
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.state is ConfigEntryState.LOADED
    subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, CONF_MODEL: "no-such-model"})
    await hass.async_block_till_done()
    agents = [state.entity_id for state in hass.states.async_all("conversation") if "havencore" in state.entity_id]
    assert len(agents) == 1
    return agents[0]


async def test_backend_refusal_is_a_translated_error(
    hass_with_core: HomeAssistant, own_backend: RunningBackend
) -> None:
    agent = await _set_up(hass_with_core, own_backend.url)

    result = await conversation.async_converse(
        hass_with_core, "tell me a joke about sheep", None, Context(), agent_id=agent
    )

    assert result.response.response_type is intent.IntentResponseType.ERROR
    # A short sentence for the user; the engine's own message only in the log and the diagnostics.
    assert result.response.speech["plain"]["speech"] == BACKEND_FAILED
    entry = hass_with_core.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.last_error is not None
    assert "no-such-model" in entry.runtime_data.last_error["detail"]
    # A refusal is not an outage.
    assert _state(hass_with_core, agent) != STATE_UNAVAILABLE


async def _wait_for_state(hass: HomeAssistant, entity_id: str, available: bool) -> None:
    """Waits (boundedly) for the real recovery probe to change the entity's availability."""
    for _ in range(100):
        if (_state(hass, entity_id) != STATE_UNAVAILABLE) is available:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{entity_id} did not become {'available' if available else 'unavailable'}")


async def test_lost_backend_makes_agent_unavailable_until_it_returns(
    hass_with_core: HomeAssistant,
    own_backend: RunningBackend,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hass = hass_with_core
    # Probe every 0.2 s of real time so the test can watch the real probe bring the agent back.
    monkeypatch.setattr("custom_components.havencore.availability.RECOVERY_PROBE_SECONDS", 0.2)
    agent = await _set_up(hass, own_backend.url)
    own_backend.stop()

    for _ in range(2):
        result = await conversation.async_converse(hass, "tell me a joke", None, Context(), agent_id=agent)
        assert result.response.response_type is intent.IntentResponseType.ERROR
        assert result.response.speech["plain"]["speech"] == "Sorry, I can't reach the HavenCore backend right now."
    assert _state(hass, agent) == STATE_UNAVAILABLE
    await asyncio.sleep(0.5)  # a few failed probes
    assert _state(hass, agent) == STATE_UNAVAILABLE
    assert caplog.text.count("is unavailable") == 1

    restarted = _restart(own_backend)
    try:
        await _wait_for_state(hass, agent, available=True)
        assert caplog.text.count("is available again") == 1
    finally:
        restarted.stop()


async def test_ask_action(hass_with_core: HomeAssistant, own_backend: RunningBackend) -> None:
    hass = hass_with_core
    agent = await _set_up(hass, own_backend.url)

    with pytest.raises(ServiceValidationError, match="not a HavenCore conversation agent"):
        await hass.services.async_call(
            DOMAIN,
            "ask",
            {"prompt": "hi", "agent_id": "conversation.home_assistant"},
            blocking=True,
            return_response=True,
        )
    with pytest.raises(HomeAssistantError, match="could not answer"):
        await hass.services.async_call(
            DOMAIN,
            "ask",
            {"prompt": "tell me a joke about sheep", "agent_id": agent},
            blocking=True,
            return_response=True,
        )


async def test_ask_without_an_agent(hass_with_core: HomeAssistant) -> None:
    assert await async_setup_component(hass_with_core, DOMAIN, {})
    with pytest.raises(ServiceValidationError, match="No HavenCore conversation agent"):
        await hass_with_core.services.async_call(DOMAIN, "ask", {"prompt": "hi"}, blocking=True, return_response=True)


async def test_diagnostics_redact_the_key(hass_with_core: HomeAssistant, own_backend: RunningBackend) -> None:
    await _set_up(hass_with_core, own_backend.url)
    entry = hass_with_core.config_entries.async_entries(DOMAIN)[0]

    diagnostics = await async_get_config_entry_diagnostics(hass_with_core, entry)

    assert diagnostics["entry"]["data"][CONF_API_KEY] == "**REDACTED**"
    assert KEY not in str(diagnostics)
    assert diagnostics["backend"]["available"] is True


async def test_command_hass_understands_runs_locally(
    hass_with_core: HomeAssistant, own_backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    # The agent's model does not exist, so only the local path can succeed.
    agent = await _set_up(hass, own_backend.url)

    result = await conversation.async_converse(hass, "turn on the kitchen light", None, Context(), agent_id=agent)

    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert _state(hass, "light.kitchen_light") == "on"
    assert _state(hass, "light.bedroom_light") == "off"


async def test_state_question_hass_understands_is_answered_locally_from_the_states(
    hass_with_core: HomeAssistant, own_backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    agent = await _set_up(hass, own_backend.url)  # a model that does not exist: only the local path can answer
    await hass.services.async_call("light", "turn_on", {"entity_id": "light.bedroom_light"}, blocking=True)

    bedroom = await conversation.async_converse(hass, "is the bedroom light on", None, Context(), agent_id=agent)
    kitchen = await conversation.async_converse(hass, "is the kitchen light on", None, Context(), agent_id=agent)

    assert bedroom.response.response_type is intent.IntentResponseType.QUERY_ANSWER
    assert bedroom.response.speech["plain"]["speech"].lower().startswith("yes")
    assert kitchen.response.speech["plain"]["speech"].lower().startswith("no")
    assert _state(hass, "light.kitchen_light") == "off"


async def test_a_fuzzy_match_of_hass_is_answered_locally_as_hass_own_agent_does(
    hass_with_core: HomeAssistant, own_backend: RunningBackend
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    agent = await _set_up(hass, own_backend.url)  # a model that does not exist: only the local path can answer

    result = await conversation.async_converse(hass, "dim the bedroom light to 20%", None, Context(), agent_id=agent)

    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE, result.response.speech
    assert _state(hass, "light.bedroom_light") == "on"
    assert _state(hass, "light.kitchen_light") == "off"


@pytest.mark.parametrize(
    "command",
    [
        # A name HA's sentences find, but no exposed entity has.
        "turn on the pantry light",
        # An area, or a kind of device, with nothing exposed.
        "turn on the lights in the bedroom",
        "open the garage door",
        # An everyday word for a device, neither its name nor its area.
        "turn up the heating",
    ],
)
async def test_a_command_hass_cannot_resolve_goes_to_the_model(
    hass_with_core: HomeAssistant, own_backend: RunningBackend, command: str
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass, unexposed=("bedroom",))
    agent = await _set_up(hass, own_backend.url)  # a model that does not exist: its answer is the backend's refusal

    result = await conversation.async_converse(hass, command, None, Context(), agent_id=agent)

    # No local refusal: the model was asked (and its backend refused this model).
    assert result.response.speech["plain"]["speech"] == BACKEND_FAILED
    assert _state(hass, "light.bedroom_light") == "off"
    assert _state(hass, "light.kitchen_light") == "off"


@pytest.mark.parametrize(
    "request_text",
    [
        # HA's sentences match the weather intent, but no weather integration handles it.
        "what's the weather like",
        # An open name beside an area HA found: a phrasing for the model to resolve, not a device called "everything".
        "switch off everything in the kitchen",
    ],
)
async def test_what_hass_matches_but_cannot_carry_out_goes_to_the_model(
    hass_with_core: HomeAssistant, own_backend: RunningBackend, request_text: str
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    agent = await _set_up(hass, own_backend.url)  # a model that does not exist: its answer is the backend's refusal
    await hass.services.async_call("light", "turn_on", {"entity_id": "light.kitchen_light"}, blocking=True)

    result = await conversation.async_converse(hass, request_text, None, Context(), agent_id=agent)

    assert result.response.speech["plain"]["speech"] == BACKEND_FAILED
    assert _state(hass, "light.kitchen_light") == "on"


async def test_local_first_can_be_turned_off(hass_with_core: HomeAssistant, own_backend: RunningBackend) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    agent = await _set_up(hass, own_backend.url)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, CONF_PREFER_LOCAL_INTENTS: False})
    await hass.async_block_till_done()

    result = await conversation.async_converse(hass, "turn on the kitchen light", None, Context(), agent_id=agent)

    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert _state(hass, "light.kitchen_light") == "off"
