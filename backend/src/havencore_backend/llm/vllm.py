"""Runs and watches ``vllm serve`` on GPU hosts; requests go to it through the OpenAI-compatible engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex

from havencore_backend.settings import Settings

from .upstream import OpenAICompatibleChatEngine

_LOGGER = logging.getLogger(__name__)
_VLLM_LOGGER = logging.getLogger("vllm")
_RESTART_DELAYS = (1.0, 5.0, 15.0, 60.0)
_STOP_GRACE_S = 15.0
_STABLE_RUN_S = 300.0
_LOG_LINE_LIMIT = 64 * 1024  # asyncio's default reader limit


def vllm_command(settings: Settings, served_name: str) -> list[str]:
    """The ``vllm serve`` command line for these settings, bound to loopback (only we talk to it)."""
    command = [
        *shlex.split(settings.vllm_executable),
        "serve",
        settings.llm_model,
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.vllm_port),
        "--served-model-name",
        served_name,
        "--gpu-memory-utilization",
        f"{settings.vllm_gpu_memory_percent / 100:.2f}",
        # A repeated prompt prefix (instructions, tools) is computed once, and usage reports how much was reused.
        "--enable-prefix-caching",
        "--enable-prompt-tokens-details",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        settings.vllm_tool_call_parser,
    ]
    if settings.vllm_quantization:
        command += ["--quantization", settings.vllm_quantization]
    if settings.vllm_max_model_len:
        command += ["--max-model-len", str(settings.vllm_max_model_len)]
    if settings.vllm_chat_template:
        command += ["--chat-template", settings.vllm_chat_template]
    return command


class VLLMServer:
    """Starts the vLLM process, forwards its output into our log and starts it again whenever it exits."""

    name = "vllm"

    def __init__(self, command: list[str], engine: OpenAICompatibleChatEngine) -> None:
        self._command = command
        self._engine = engine

    async def _forward_logs(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line over the reader's limit, already dropped: keep reading, or vLLM blocks
                _VLLM_LOGGER.info("(a log line over %d KiB was left out)", _LOG_LINE_LIMIT // 1024)
                continue
            if not line:
                return
            _VLLM_LOGGER.info("%s", line.decode(errors="replace").rstrip())

    async def _run_once(self) -> int:
        process = await asyncio.create_subprocess_exec(
            *self._command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            limit=_LOG_LINE_LIMIT,
        )
        self._engine.expect_startup(f"starting vLLM (pid {process.pid})")
        _LOGGER.info("started vLLM, pid %d: %s", process.pid, " ".join(self._command))
        assert process.stdout is not None
        forwarding = asyncio.create_task(self._forward_logs(process.stdout))
        try:
            return await process.wait()
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), _STOP_GRACE_S)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            with contextlib.suppress(asyncio.CancelledError):
                await forwarding

    async def run(self) -> None:
        """Keeps vLLM running until cancelled, with a growing pause between quick successive crashes."""
        loop = asyncio.get_running_loop()
        crashes = 0
        while True:
            started = loop.time()
            try:
                code = await self._run_once()
            except OSError as err:
                code = -1
                _LOGGER.error("cannot start vLLM (%s): %s", self._command[0], err)
            # Only crashes in quick succession back off; a server that ran for a while restarts at once.
            crashes = crashes + 1 if loop.time() - started < _STABLE_RUN_S else 1
            delay = _RESTART_DELAYS[min(crashes - 1, len(_RESTART_DELAYS) - 1)]
            self._engine.report_down(f"vLLM exited with code {code}; restarting in {delay:.0f} s")
            _LOGGER.error("vLLM exited with code %d; restarting in %.0f s", code, delay)
            await asyncio.sleep(delay)
