"""The backend as a real process: health, info, API-key enforcement and a stable instance id."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.backend.conftest import API_KEY
from tests.backend_process import BACKEND_BIN, RunningBackend, http_get, start_backend


def test_health_needs_no_key_and_reports_components(backend: RunningBackend) -> None:
    status, body = http_get(f"{backend.url}/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["components"]["data_dir"]["status"] == "ok"


def test_info_describes_the_instance(backend: RunningBackend) -> None:
    status, body = http_get(f"{backend.url}/v1/havencore/info", API_KEY)
    assert status == 200
    assert body["name"] == "HavenCore"
    assert body["instance_id"] == (backend.data_dir / "instance_id").read_text().strip()
    assert body["wyoming"]["stt_port"] != body["wyoming"]["tts_port"]
    # llama.cpp keeps a prompt's prefill for the next request that starts the same way.
    assert {"chat", "prompt-cache"} <= set(body["capabilities"])


def test_missing_and_wrong_keys_get_openai_style_401(backend: RunningBackend) -> None:
    for key in ("", "wrong-key"):
        status, body = http_get(f"{backend.url}/v1/havencore/info", key)
        assert status == 401
        assert body["error"]["code"] == "invalid_api_key"
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["message"]
    # The OpenAPI document is behind the key too.
    assert http_get(f"{backend.url}/openapi.json")[0] == 401
    assert http_get(f"{backend.url}/openapi.json", API_KEY)[0] == 200


def test_unknown_route_is_an_openai_style_404(backend: RunningBackend) -> None:
    status, body = http_get(f"{backend.url}/v1/nothing-here", API_KEY)
    assert status == 404
    assert body["error"]["type"] == "not_found_error"


def test_without_a_key_everything_is_open(data_dir: Path) -> None:
    running = start_backend(data_dir)
    try:
        assert http_get(f"{running.url}/v1/havencore/info")[0] == 200
    finally:
        running.stop()


def test_instance_id_survives_a_restart_and_module_entry_point_works(data_dir: Path) -> None:
    first = start_backend(data_dir)
    try:
        first_id = http_get(f"{first.url}/v1/havencore/info")[1]["instance_id"]
    finally:
        first.stop()
    assert first.process.returncode == 0
    assert "HavenCore backend stopped" in first.log()
    python = BACKEND_BIN.parent / "python"
    second = start_backend(data_dir, command=(str(python), "-m", "havencore_backend"))
    try:
        assert http_get(f"{second.url}/v1/havencore/info")[1]["instance_id"] == first_id
    finally:
        second.stop()


def test_port_in_use_exits_non_zero(backend: RunningBackend, data_dir: Path) -> None:
    port = backend.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [str(BACKEND_BIN), "--port", port, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0


def test_bad_setting_exits_with_a_clear_message() -> None:
    result = subprocess.run(
        [str(BACKEND_BIN), "--port", "not-a-port"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "--port: expected int" in result.stderr


def test_help_runs() -> None:
    result = subprocess.run([str(BACKEND_BIN), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    assert "HAVENCORE_API_KEY" in result.stdout
