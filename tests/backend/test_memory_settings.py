"""Memory settings: validated URLs, and a history database that cannot be reached shows in /health and as 503s."""

from __future__ import annotations

from pathlib import Path

import pytest

from havencore_backend.settings import SettingsError, load_settings
from tests.backend.language_models import wait_for_component
from tests.backend_process import free_port, http_get, http_json, start_backend


def test_store_urls_are_validated() -> None:
    settings = load_settings([], {"HAVENCORE_DATABASE_URL": "postgresql://u@db:5432/havencore"})
    assert settings.database_url == "postgresql://u@db:5432/havencore"
    assert load_settings([], {}).database_url == ""
    with pytest.raises(SettingsError, match="database_url"):
        load_settings(["--database-url", "mysql://db/havencore"], {})
    with pytest.raises(SettingsError, match="qdrant_url"):
        load_settings(["--qdrant-url", "qdrant:6333"], {})


def test_an_unreachable_database_is_an_error_in_health_and_a_503(data_dir: Path) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/x"
    backend = start_backend(data_dir, extra_args=("--database-url", unreachable, "--models", str(data_dir / "none")))
    try:
        entry = wait_for_component(backend, "history", "error")
        assert "cannot open the history database" in entry["detail"]
        assert http_get(f"{backend.url}/health")[0] == 503
        status, body = http_json(
            "POST",
            f"{backend.url}/v1/havencore/history/c/turns",
            body={"user_id": "u", "user_text": "a", "assistant_text": "b"},
        )
        assert (status, body["error"]["code"]) == (503, "store_unavailable")
    finally:
        backend.stop()
