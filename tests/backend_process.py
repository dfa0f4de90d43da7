"""Starts the real backend as a subprocess on free loopback ports; shared by the backend and the HA tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKEND_BIN = Path(os.environ.get("HAVENCORE_BACKEND_BIN", REPO_ROOT / ".venv" / "bin" / "havencore-backend"))
# The packaged test models (scripts/setup installs them; scripts/lib.sh exports the variable).
MODELS_DIR = Path(os.environ.get("HAVENCORE_MODELS", Path.home() / ".cache" / "havencore" / "models"))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stops a subprocess politely (SIGTERM), and by force when it does not exit within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def http_get(url: str, api_key: str = "") -> tuple[int, Any]:
    """GETs a JSON resource and returns the status and parsed body, errors included."""
    return http_json("GET", url, api_key)


def http_json(method: str, url: str, api_key: str = "", body: Any = None) -> tuple[int, Any]:
    """Sends a request with an optional JSON body and returns the status and parsed body, errors included."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@dataclass
class RunningBackend:
    """A backend subprocess and how to reach it."""

    process: subprocess.Popen[bytes]
    url: str
    api_key: str
    data_dir: Path
    log_path: Path
    stt_port: int
    tts_port: int

    def log(self) -> str:
        """Everything the backend printed so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stops the backend, politely first."""
        stop_process(self.process)


def start_backend(
    data_dir: Path,
    api_key: str = "",
    extra_args: tuple[str, ...] = (),
    command: tuple[str, ...] | None = None,
    timeout: float = 60.0,
    wait_until_loaded: bool = False,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> RunningBackend:
    """Starts ``havencore-backend`` (packaged models from ``MODELS_DIR``) and waits until ``/health`` answers, and
    with ``wait_until_loaded`` until no component is still loading; raises with its log if it does not.

    The backend sees none of our ``HAVENCORE_*`` variables, only those given in ``env``.
    """
    port, stt_port, tts_port = port or free_port(), free_port(), free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"backend-{port}.log"
    args = [
        *(command or (str(BACKEND_BIN),)),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--wyoming-stt-port",
        str(stt_port),
        "--wyoming-tts-port",
        str(tts_port),
        "--models",
        str(MODELS_DIR),
        *(("--api-key", api_key) if api_key else ()),
        *extra_args,
    ]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HAVENCORE_")}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=environment | (env or {}))
    backend = RunningBackend(process, f"http://127.0.0.1:{port}", api_key, data_dir, log_path, stt_port, tts_port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"backend exited with {process.returncode}:\n{backend.log()}")
        try:
            status, body = http_get(f"{backend.url}/health")
        except (OSError, ValueError):
            time.sleep(0.1)
            continue
        loading = any(part["status"] == "loading" for part in body.get("components", {}).values())
        if status in (200, 503) and not (wait_until_loaded and loading):
            return backend
        time.sleep(0.1)
    backend.stop()
    raise RuntimeError(f"backend did not answer /health within {timeout} s:\n{backend.log()}")
