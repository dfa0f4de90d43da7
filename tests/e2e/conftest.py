"""One real backend and one real ``hass`` for the whole end-to-end run, started by the demo's own code."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from demo.stack import DemoHome, start_demo
from tests.backend_process import free_port

# Nothing may reach for a model hub; the packaged models are all there is.
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def demo_home(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoHome]:
    """The demo home in a temp dir, on free ports: onboarded, HavenCore configured, its pipeline preferred."""
    home = await start_demo(tmp_path_factory.mktemp("demo"), free_port(), free_port(), progress=lambda _: None)
    yield home
    await home.stop()
