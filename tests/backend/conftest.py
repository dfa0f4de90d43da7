"""Fixtures for the backend tests: a real backend process on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.postgres import postgres_server
from tests.backend_process import RunningBackend, start_backend

API_KEY = "test-key-5f1c"
# Nothing may come from a model hub during tests; the packaged models are local.
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """A backend with an API key, shared by the tests of one module."""
    running = start_backend(tmp_path_factory.mktemp("backend"), api_key=API_KEY)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def voice_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """A backend with the packaged Whisper and Piper models loaded, a 1 MB upload limit and a 600-character text
    limit, shared by the voice tests."""
    running = start_backend(
        tmp_path_factory.mktemp("voice"),
        api_key=API_KEY,
        extra_args=(
            *("--audio-upload-limit-mb", "1", "--tts-max-chars", "600"),
            *("--openai-voices", "nova=en_US-joe-medium"),
        ),
        wait_until_loaded=True,
    )
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
