"""The reference Wyoming servers (wyoming-faster-whisper, wyoming-piper from ``.venv-bench``) on the packaged models,
started the same way by every benchmark that compares HavenCore with them."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from wyoming.client import AsyncTcpClient
from wyoming.info import Describe

from tests.backend_process import MODELS_DIR, REPO_ROOT, free_port

PEER_BIN = REPO_ROOT / ".venv-bench" / "bin"
WHISPER_DIR = MODELS_DIR / "whisper-tiny.en"
PIPER_DIR = MODELS_DIR / "piper-en_US-joe-medium"
PIPER_VOICE = "en_US-joe-medium"
MATCHED_ARGS = ("--beam-size", "1", "--compute-type", "int8")  # HavenCore's defaults


@dataclass
class Server:
    """A running Wyoming server process."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    latencies: list[float] = field(default_factory=list)

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """Stops the server, by force when it does not exit within 10 s."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def wait_for_wyoming(port: int) -> None:
    """Waits until a Wyoming server on the port answers ``describe``."""
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline:
        try:
            async with AsyncTcpClient("127.0.0.1", port) as client:
                await client.write_event(Describe().event())
                if await client.read_event() is not None:
                    return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"no Wyoming server on port {port}")


def start_peer(name: str, args: list[str], log_dir: Path) -> Server:
    """Starts a server on a free loopback port, its output in ``log_dir/<name>.log``."""
    port = free_port()
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen([*args, "--uri", f"tcp://127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    return Server(name, process, port)


def faster_whisper_args(data_dir: Path) -> list[str]:
    """wyoming-faster-whisper offline on the packaged model, as services.md runs it."""
    return [
        *(str(PEER_BIN / "wyoming-faster-whisper"), "--model", str(WHISPER_DIR), "--local-files-only"),
        *("--stt-library", "faster-whisper", "--data-dir", str(data_dir), "--language", "en"),
    ]


def piper_args(data_dir: Path) -> list[str]:
    """wyoming-piper offline on the packaged voice, copied into its own data dir (it looks for voices there)."""
    if not data_dir.exists():
        shutil.copytree(PIPER_DIR, data_dir)
    return [
        *(str(PEER_BIN / "wyoming-piper"), "--voice", PIPER_VOICE, "--data-dir", str(data_dir)),
        "--local-files-only",
    ]
