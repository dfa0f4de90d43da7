"""Runs the HTTP API and every background service in one event loop, and stops them all on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Generator

import uvicorn

from .api.app import create_app
from .runtime import BackendRuntime

_LOGGER = logging.getLogger(__name__)


class _APIServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns the signals so every service stops in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


async def serve(runtime: BackendRuntime) -> int:
    """Serves until a signal arrives or a part fails; returns the exit code."""
    settings = runtime.settings
    api = _APIServer(
        uvicorn.Config(
            create_app(runtime), host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    api_task = asyncio.create_task(api.serve(), name="http-api")
    service_tasks = [asyncio.create_task(service.run(), name=service.name) for service in runtime.services]
    stop_task = asyncio.create_task(stop.wait(), name="stop-signal")
    done, _ = await asyncio.wait([api_task, stop_task, *service_tasks], return_when=asyncio.FIRST_COMPLETED)

    exit_code = 0
    for task in done:
        if task is stop_task:
            continue
        exit_code = 1
        error = task.exception() if not task.cancelled() else None
        _LOGGER.error("%s stopped unexpectedly: %r", task.get_name(), error, exc_info=error)

    api.should_exit = True
    for task in service_tasks:
        task.cancel()
    await asyncio.gather(api_task, *service_tasks, return_exceptions=True)
    stop_task.cancel()
    _LOGGER.info("HavenCore backend stopped")
    return exit_code
