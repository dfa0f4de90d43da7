"""A real ``hass`` process on a config dir, and the wait until it serves HTTP."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.backend_process import REPO_ROOT, stop_process

HASS_BIN = REPO_ROOT / ".venv-ha" / "bin" / "hass"


@dataclass
class RunningHomeAssistant:
    """A ``hass`` subprocess and where it serves."""

    process: subprocess.Popen[bytes]
    url: str
    config_dir: Path

    def log(self) -> str:
        """The end of Home Assistant's own log."""
        path = self.config_dir / "home-assistant.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def stop(self) -> None:
        """Stops Home Assistant, politely first (it saves its stores on the way out)."""
        stop_process(self.process, timeout=30)


def _serves_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # any answer means the server is up
    except OSError:
        return False


def start_home_assistant(config_dir: Path, port: int, timeout: float = 120.0) -> RunningHomeAssistant:
    """Starts ``hass -c config_dir`` and waits until its HTTP server answers; raises with its log if it does not."""
    with (config_dir / "hass-console.log").open("wb") as console:
        # A session of its own: Ctrl-C reaches only the demo, which stops hass with one SIGTERM; hass drops its
        # handlers after the first signal, so a second one (the terminal's SIGINT) would kill it before it saved.
        process = subprocess.Popen(
            [str(HASS_BIN), "-c", str(config_dir)], stdout=console, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = RunningHomeAssistant(process, f"http://127.0.0.1:{port}", config_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hass exited with {process.returncode}:\n{running.log()}")
        if _serves_http(f"{running.url}/manifest.json"):
            return running
        time.sleep(0.2)
    running.stop()
    raise RuntimeError(f"hass did not serve HTTP within {timeout} s:\n{running.log()}")
