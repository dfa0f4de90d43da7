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
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> RunningBackend:
    """Starts ``havencore-backend`` and waits until ``/health`` answers; raises with its log if it does not.

    The backend sees none of our ``HAVENCORE_*`` variables, only those given in ``env``.
    """
    port = port or free_port()
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
        str(free_port()),
        "--wyoming-tts-port",
        str(free_port()),
        *(("--api-key", api_key) if api_key else ()),
        *extra_args,
    ]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HAVENCORE_")}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=environment | (env or {}))
    backend = RunningBackend(process, f"http://127.0.0.1:{port}", api_key, data_dir, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"backend exited with {process.returncode}:\n{backend.log()}")
        try:
            status, _ = http_get(f"{backend.url}/health")
        except (OSError, ValueError):
            time.sleep(0.1)
            continue
        if status in (200, 503):
            return backend
    backend.stop()
    raise RuntimeError(f"backend did not answer /health within {timeout} s:\n{backend.log()}")
