"""The config flow against the real backend."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.const import CONF_API_KEY, CONF_LLM_HASS_API, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import llm
from homeassistant.helpers.service_info.hassio import HassioServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.havencore.const import (
    DOMAIN,
    SUBENTRY_AI_TASK,
    SUBENTRY_CONVERSATION,
    SUBENTRY_STT,
    SUBENTRY_TTS,
)
from tests.backend_process import RunningBackend, http_get
from tests.integration.conftest import API_KEY


async def _start_flow(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    flow_id: str = result["flow_id"]
    return flow_id


async def test_user_step_creates_entry_with_backend_instance_id(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: backend.url + "/", CONF_API_KEY: API_KEY}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: backend.url, CONF_API_KEY: API_KEY}
    instance_id = http_get(f"{backend.url}/v1/havencore/info", API_KEY)[1]["instance_id"]
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.unique_id == instance_id
    assert entry.state is config_entries.ConfigEntryState.LOADED
    assert entry.runtime_data.info.instance_id == instance_id


async def test_wrong_key_shows_invalid_auth_and_can_be_corrected(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: "nope"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_backend_down_shows_cannot_connect(hass_with_core: HomeAssistant, backend_down_url: str) -> None:
    hass = hass_with_core
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: backend_down_url, CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_something_else_at_the_url_shows_cannot_connect(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    # /health answers, but a URL pointing below the API root finds no info route.
    hass = hass_with_core
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: backend.url + "/health", CONF_API_KEY: API_KEY}
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_same_backend_twice_aborts(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    instance_id = http_get(f"{backend.url}/v1/havencore/info", API_KEY)[1]["instance_id"]
    MockConfigEntry(
        domain=DOMAIN, unique_id=instance_id, data={CONF_URL: "http://old-address:8000", CONF_API_KEY: API_KEY}
    ).add_to_hass(hass)

    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth_stores_the_new_key(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    instance_id = http_get(f"{backend.url}/v1/havencore/info", API_KEY)[1]["instance_id"]
    entry = MockConfigEntry(domain=DOMAIN, unique_id=instance_id, data={CONF_URL: backend.url, CONF_API_KEY: "old"})
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: "still-wrong"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: API_KEY})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_KEY] == API_KEY
    assert entry.state is config_entries.ConfigEntryState.LOADED


async def test_reauth_against_another_backend_aborts(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    entry = MockConfigEntry(domain=DOMAIN, unique_id="someone-else", data={CONF_URL: backend.url, CONF_API_KEY: "x"})
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: API_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_backend"


def _discovery(backend: RunningBackend, api_key: str = API_KEY) -> HassioServiceInfo:
    host, port = backend.url.removeprefix("http://").split(":")
    return HassioServiceInfo(
        config={"host": host, "port": int(port), "api_key": api_key},
        name="HavenCore",
        slug="havencore",
        uuid="1234",
    )


async def test_new_entry_starts_with_an_agent_an_ai_task_and_speech(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    flow_id = await _start_flow(hass)
    await hass.config_entries.flow.async_configure(flow_id, {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    await hass.async_block_till_done()

    entry = hass.config_entries.async_entries(DOMAIN)[0]
    kinds = sorted(sub.subentry_type for sub in entry.subentries.values())
    # The backend has speech servers, so the entry gets speech-to-text and text-to-speech too.
    assert kinds == sorted([SUBENTRY_CONVERSATION, SUBENTRY_AI_TASK, SUBENTRY_STT, SUBENTRY_TTS])
    agent = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
    assert agent.data[CONF_LLM_HASS_API] == [llm.LLM_API_ASSIST]
    assert hass.states.get("conversation.havencore_conversation") is not None
    assert hass.states.get("ai_task.havencore_ai_task") is not None


async def test_addon_discovery_is_confirmed_then_created(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_HASSIO}, data=_discovery(backend)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hassio_confirm"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: backend.url, CONF_API_KEY: API_KEY}


async def test_addon_discovery_updates_a_known_backend(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    instance_id = http_get(f"{backend.url}/v1/havencore/info", API_KEY)[1]["instance_id"]
    entry = MockConfigEntry(domain=DOMAIN, unique_id=instance_id, data={CONF_URL: "http://old:1", CONF_API_KEY: "x"})
    entry.add_to_hass(hass)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_HASSIO}, data=_discovery(backend)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_URL: backend.url, CONF_API_KEY: API_KEY}


async def test_addon_discovery_with_a_wrong_key_aborts(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    result = await hass_with_core.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_HASSIO}, data=_discovery(backend, api_key="nope")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_auth"


async def test_reconfigure_changes_url_and_key_of_the_same_backend(
    hass_with_core: HomeAssistant, backend: RunningBackend, backend_down_url: str
) -> None:
    hass = hass_with_core
    instance_id = http_get(f"{backend.url}/v1/havencore/info", API_KEY)[1]["instance_id"]
    entry = MockConfigEntry(domain=DOMAIN, unique_id=instance_id, data={CONF_URL: backend_down_url, CONF_API_KEY: ""})
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: backend.url})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_URL: backend.url, CONF_API_KEY: API_KEY}


async def test_reconfigure_to_another_backend_aborts(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    entry = MockConfigEntry(domain=DOMAIN, unique_id="other", data={CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_backend"
