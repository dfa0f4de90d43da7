"""Loading a GGUF silences nothing: other threads' log lines arrive, and llama.cpp's own reasons reach the log."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.backend.language_models import CHAT_GGUF, OFFLINE, VENV_PYTHON, wait_for_component
from tests.backend_process import start_backend

# Loads the model in a thread while the main thread logs a numbered line to stderr every 2 ms.
_LOG_WHILE_LOADING = """
import logging, sys, threading, time
from havencore_backend.llm.llamacpp import GGUFSource, LlamaCppChatEngine

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
engine = LlamaCppChatEngine(GGUFSource(sys.argv[1]), "chat", 512, 1)
loaded = threading.Event()
threading.Thread(target=lambda: (engine._load(), loaded.set())).start()
count = 0
while not loaded.is_set():
    logging.info("line %d", count)
    count += 1
    time.sleep(0.002)
logging.info("lines: %d", count)
"""


def test_log_lines_written_while_a_model_loads_all_arrive() -> None:
    result = subprocess.run(
        [str(VENV_PYTHON), "-c", _LOG_WHILE_LOADING, str(CHAT_GGUF)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    count = int(re.findall(r"INFO root: lines: (\d+)", result.stderr)[0])
    assert count > 10  # the load took a while
    assert [int(number) for number in re.findall(r"INFO root: line (\d+)", result.stderr)] == list(range(count))
    # llama.cpp's model dump stays out of an INFO log.
    assert "llama_model_loader" not in result.stderr


def test_llama_cpp_says_why_a_gguf_cannot_load(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    with CHAT_GGUF.open("rb") as gguf:
        broken.write_bytes(gguf.read(2_000_000))  # cut off inside the metadata
    backend = start_backend(tmp_path / "data", extra_args=("--llm-model", str(broken)), env=OFFLINE)
    try:
        entry = wait_for_component(backend, "llm", "error")
        assert "Failed to load model from file" in entry["detail"]
        assert re.search(r"ERROR llama_cpp: .*failed to read key-value pairs", backend.log())
    finally:
        backend.stop()
