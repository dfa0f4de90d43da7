"""Setup and unload of a config entry against the real backend."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.havencore.const import DOMAIN
from tests.backend_process import RunningBackend
from tests.integration.conftest import API_KEY


async def _setup(hass: HomeAssistant, url: str, api_key: str) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_URL: url, CONF_API_KEY: api_key})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_setup_and_unload(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    entry = await _setup(hass_with_core, backend.url, API_KEY)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.info.wyoming_stt_port > 0

    assert await hass_with_core.config_entries.async_unload(entry.entry_id)
    await hass_with_core.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_backend_down_retries_setup(hass_with_core: HomeAssistant, backend_down_url: str) -> None:
    entry = await _setup(hass_with_core, backend_down_url, API_KEY)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert backend_down_url in entry.reason


async def test_rejected_key_fails_setup_as_auth_error(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    entry = await _setup(hass_with_core, backend.url, "stale-key")
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass_with_core.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
