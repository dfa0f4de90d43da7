"""Announces the backend to Home Assistant through the Supervisor's discovery API, as the add-on does on start.

The Supervisor passes the announcement to Home Assistant, which offers HavenCore with this host, port and API key
for the user to confirm (the integration's ``async_step_hassio``): nothing to type. Usage inside the add-on:
``python -m havencore_backend.announce --port 8000`` with ``SUPERVISOR_TOKEN`` and ``HAVENCORE_API_KEY`` set.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

# The discovery service the add-on's config.yaml lists; Home Assistant starts the config flow of the integration of
# this name.
SERVICE = "havencore"
# The Supervisor's API as add-ons reach it.
DEFAULT_SUPERVISOR_URL = "http://supervisor"
# Seconds between tries while the backend does not answer yet or the Supervisor refuses for a passing reason.
RETRY_SECONDS = 2.0

_LOGGER = logging.getLogger(__name__)


class AnnounceError(Exception):
    """The Supervisor refused the announcement for good (a wrong token, a service the add-on does not list)."""


@dataclass(frozen=True, slots=True)
class Announcement:
    """Where Home Assistant reaches this backend, and the key it must send."""

    host: str
    port: int
    api_key: str

    def config(self) -> dict[str, str | int]:
        """The discovery message's ``config``, the keys HavenCore's config flow reads."""
        return {"host": self.host, "port": self.port, "api_key": self.api_key}


async def wait_until_answering(client: httpx.AsyncClient, backend_url: str, deadline: float) -> None:
    """Returns once the backend's ``/health`` answers at all (it may still be loading models: the config flow only
    needs its info route); raises ``TimeoutError`` at ``deadline`` (a ``time.monotonic`` value)."""
    while True:
        try:
            response = await client.get(f"{backend_url}/health")
        except httpx.TransportError:
            pass
        else:
            if response.status_code in (200, 503):
                return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the backend at {backend_url} did not answer /health")
        await asyncio.sleep(RETRY_SECONDS)


async def announce(
    client: httpx.AsyncClient, supervisor_url: str, token: str, announcement: Announcement, deadline: float
) -> str:
    """Sends the discovery message and returns its id; retries while the Supervisor cannot be reached or fails on
    its side, and raises ``AnnounceError`` when it refuses the message."""
    body = {"service": SERVICE, "config": announcement.config()}
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        try:
            response = await client.post(f"{supervisor_url}/discovery", json=body, headers=headers)
        except httpx.TransportError as err:
            problem = f"cannot reach the Supervisor: {err}"
        else:
            if response.status_code < 500:
                return _message_id(response)
            problem = f"the Supervisor answered {response.status_code}"
        if time.monotonic() >= deadline:
            raise TimeoutError(problem)
        _LOGGER.warning("%s; trying again", problem)
        await asyncio.sleep(RETRY_SECONDS)


def _message_id(response: httpx.Response) -> str:
    """The id in the Supervisor's ``{"result": "ok", "data": {"uuid": ...}}``, or its refusal as an error."""
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code == 200 and answer.get("result") == "ok":
        return str(answer["data"]["uuid"])
    message = answer.get("message") or response.text or f"HTTP {response.status_code}"
    raise AnnounceError(f"the Supervisor refused the discovery message: {message}")


async def run(args: argparse.Namespace) -> str:
    """Waits for the backend, then announces it."""
    deadline = time.monotonic() + args.timeout
    announcement = Announcement(args.host, args.port, args.api_key)
    async with httpx.AsyncClient(timeout=10.0) as client:
        await wait_until_answering(client, args.backend_url or f"http://127.0.0.1:{args.port}", deadline)
        return await announce(client, args.supervisor_url, args.token, announcement, deadline)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--supervisor-url", default=os.environ.get("SUPERVISOR_URL", DEFAULT_SUPERVISOR_URL), help="Supervisor API"
    )
    parser.add_argument("--token", default=os.environ.get("SUPERVISOR_TOKEN", ""), help="env SUPERVISOR_TOKEN")
    parser.add_argument("--host", default=socket.gethostname(), help="host name HA reaches (default: this one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("HAVENCORE_PORT", "8000")))
    parser.add_argument("--api-key", default=os.environ.get("HAVENCORE_API_KEY", ""), help="env HAVENCORE_API_KEY")
    parser.add_argument("--backend-url", default="", help="where to check /health (default: loopback, --port)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the backend and Supervisor")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Announces once; exit status 1 (with the reason on stderr) when it cannot."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if not args.token:
        _LOGGER.error("no Supervisor token: set SUPERVISOR_TOKEN (the Supervisor gives it to add-ons)")
        return 1
    try:
        message_id = asyncio.run(run(args))
    except (AnnounceError, TimeoutError) as err:
        _LOGGER.error("HavenCore was not announced to Home Assistant: %s", err)
        return 1
    _LOGGER.info("HavenCore announced to Home Assistant (discovery %s) as %s:%d", message_id, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
