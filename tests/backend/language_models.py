"""Helpers for the chat and embeddings tests: the packaged models, a llama.cpp server, waiting for components."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.backend_process import MODELS_DIR, REPO_ROOT, RunningBackend, free_port, http_get, stop_process

CHAT_MODEL_ID = "qwen2.5-coder-0.5b-instruct-q4_k_m"
CHAT_GGUF = MODELS_DIR / CHAT_MODEL_ID / "model.gguf"
EMBEDDINGS_MODEL_ID = "all-minilm-l6-v2-int8"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
OFFLINE = {"HF_HUB_OFFLINE": "1"}


def wait_for_component(backend: RunningBackend, name: str, state: str, timeout: float = 120.0) -> dict[str, str]:
    """Polls ``/health`` until component ``name`` reaches ``state``; returns its entry."""
    deadline = time.monotonic() + timeout
    entry: dict[str, str] = {}
    while time.monotonic() < deadline:
        entry = http_get(f"{backend.url}/health")[1]["components"].get(name, {})
        if entry.get("status") == state:
            return entry
        if backend.process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{name} did not become {state} (last: {entry}):\n{backend.log()}")


class LlamaServer:
    """``python -m llama_cpp.server`` on the packaged chat model: a real OpenAI-compatible peer."""

    def __init__(self, log_path: Path, alias: str = "upstream-qwen") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.alias = alias
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [str(VENV_PYTHON), "-m", "llama_cpp.server", "--model", str(CHAT_GGUF), "--model_alias", alias,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048", "--interrupt_requests", "False"],
            stdout=self._log, stderr=subprocess.STDOUT, env=os.environ | OFFLINE,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if http_get(f"{self.url}/models")[0] == 200:
                    return
            except (OSError, ValueError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not start:\n{log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        """Stops the server."""
        stop_process(self.process)
        self._log.close()


VLLM_STAND_IN = f"{VENV_PYTHON} {Path(__file__).with_name('vllm_stand_in.py')}"
