"""Fixtures for the Home Assistant tests: a real HA core (phcc) and a real backend subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_socket
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

# Imported here so HA's loader finds this custom_components package first.
import custom_components.havencore  # noqa: F401
from tests.backend.language_models import wait_for_component
from tests.backend_process import RunningBackend, free_port, start_backend

API_KEY = "ha-test-key-8d2e"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Lets HA load custom integrations in every test."""


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """One real backend with an API key for the whole session."""
    # phcc disables sockets before fixtures run; the backend's start-up probe needs them for a moment.
    pytest_socket.enable_socket()
    running = start_backend(tmp_path_factory.mktemp("backend"), api_key=API_KEY)
    wait_for_component(running, "llm", "ok")  # the agent tests need the packaged chat model loaded
    yield running
    running.stop()


@pytest.fixture
def backend_down_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def hass_with_core(hass: HomeAssistant, socket_enabled: None) -> HomeAssistant:
    """HA with the core components the integration's dependencies expect already set up."""
    assert await async_setup_component(hass, "homeassistant", {})
    return hass
