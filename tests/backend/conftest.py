"""Fixtures for the backend tests: a real backend process on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.postgres import postgres_server
from tests.backend_process import RunningBackend, start_backend

API_KEY = "test-key-5f1c"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """A backend with an API key, shared by the tests of one module."""
    running = start_backend(tmp_path_factory.mktemp("backend"), api_key=API_KEY)
    yield running
    running.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data dir for a backend of the test's own."""
    return tmp_path / "data"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a real PostgreSQL server shared by the session; tests create their own databases on it."""
    with postgres_server() as url:
        yield url
