"""``scripts/demo``'s program: a second start reuses what the first made, and ``--check`` proves a turn end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.stack import start_demo
from tests.backend_process import REPO_ROOT, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _stored(config_dir: Path, key: str) -> list[dict[str, object]]:
    """Items of one of Home Assistant's ``.storage`` files."""
    data = json.loads((config_dir / ".storage" / key).read_text(encoding="utf-8"))["data"]
    items: list[dict[str, object]] = data.get("entries") or data["items"]
    return items


async def test_second_start_reuses_everything_and_check_passes(tmp_path: Path) -> None:
    """After a first start, ``python -m demo --check`` skips onboarding, keeps the same config entry, pipeline and
    credentials, and exits 0 once "turn on the kitchen light" went through the pipeline."""
    backend_port, ha_port = free_port(), free_port()
    first = await start_demo(tmp_path, backend_port, ha_port, progress=lambda _: None)
    await first.stop()
    state_before = (tmp_path / "demo.json").read_text(encoding="utf-8")
    config_dir = tmp_path / "ha"
    entries_before = [e for e in _stored(config_dir, "core.config_entries") if e["domain"] == "havencore"]

    env = os.environ | {
        "HAVENCORE_DEMO_DIR": str(tmp_path),
        "HAVENCORE_PORT": str(backend_port),
        "HAVENCORE_HA_PORT": str(ha_port),
    }
    check = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "demo", "--check"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert check.returncode == 0, check.stderr
    assert "check passed" in check.stderr
    assert "onboarding" not in check.stderr
    assert (tmp_path / "demo.json").read_text(encoding="utf-8") == state_before
    entries_after = [e for e in _stored(config_dir, "core.config_entries") if e["domain"] == "havencore"]
    assert [e["entry_id"] for e in entries_after] == [e["entry_id"] for e in entries_before]
    pipelines = [p for p in _stored(config_dir, "assist_pipeline.pipelines") if p["name"] == "HavenCore"]
    assert [p["id"] for p in pipelines] == [first.pipeline_id]
