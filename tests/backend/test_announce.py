"""The add-on's announcement: the real module run as the add-on runs it, against the real backend and a stand-in for
the Supervisor's discovery API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.backend.conftest import API_KEY
from tests.backend.supervisor_stand_in import SupervisorStandIn
from tests.backend_process import RunningBackend, free_port

TOKEN = "supervisor-token-1"


@pytest.fixture
def supervisor() -> Iterator[SupervisorStandIn]:
    stand_in = SupervisorStandIn(token=TOKEN, discovery=("havencore",)).start()
    yield stand_in
    stand_in.stop()


def _announce(
    supervisor_url: str, backend_url: str, token: str = TOKEN, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    port = backend_url.rsplit(":", 1)[1]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "havencore_backend.announce",
            "--host",
            "havencore-addon",
            "--port",
            port,
            "--backend-url",
            backend_url,
            "--timeout",
            str(timeout),
        ],
        env={"SUPERVISOR_URL": supervisor_url, "SUPERVISOR_TOKEN": token, "HAVENCORE_API_KEY": API_KEY},
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )


def test_the_backend_is_announced_with_what_the_config_flow_reads(
    backend: RunningBackend, supervisor: SupervisorStandIn
) -> None:
    supervisor.failures_left = 1  # a Supervisor busy for a moment is tried again

    result = _announce(supervisor.url, backend.url)

    assert result.returncode == 0, result.stderr
    port = int(backend.url.rsplit(":", 1)[1])
    assert supervisor.messages == [
        {"service": "havencore", "config": {"host": "havencore-addon", "port": port, "api_key": API_KEY}}
    ]
    assert "announced" in result.stderr


def test_a_refused_token_is_reported_and_nothing_is_announced(
    backend: RunningBackend, supervisor: SupervisorStandIn
) -> None:
    result = _announce(supervisor.url, backend.url, token="wrong")

    assert result.returncode == 1
    assert "Invalid token" in result.stderr
    assert supervisor.messages == []


def test_no_announcement_while_the_backend_does_not_answer(supervisor: SupervisorStandIn) -> None:
    result = _announce(supervisor.url, f"http://127.0.0.1:{free_port()}", timeout=3)

    assert result.returncode == 1
    assert "did not answer /health" in result.stderr
    assert supervisor.messages == []


def test_without_a_token_it_says_so() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "havencore_backend.announce"], env={}, capture_output=True, text=True, check=False
    )

    assert result.returncode == 1
    assert "SUPERVISOR_TOKEN" in result.stderr
