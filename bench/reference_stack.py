"""The reference Assist stack a user would assemble today from HA 2026.2.3's stock integrations, in the demo's
Home Assistant: ``wyoming`` for wyoming-faster-whisper and wyoming-piper, and ``ollama`` for a conversation agent on
the same llama.cpp model (through ``bench.ollama_standin``), each added through its real config flow.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo.ha_client import HomeAssistantClient, HomeAssistantError
from demo.provision import SUBENTRY_FLOW, ensure_pipeline, integration_entities, run_flow
from tests.backend_process import REPO_ROOT, free_port, stop_process

from .wyoming_peers import MATCHED_ARGS, Server, faster_whisper_args, piper_args, start_peer, wait_for_wyoming

PIPELINE_NAME = "Reference (wyoming + Ollama)"
BACKEND_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
# The ollama client HA's integration needs, installed by bench/assist.sh outside the project's test venv.
HA_EXTRA_SITE = REPO_ROOT / ".venv-bench" / "ha-site"
# The same context as HavenCore's llama.cpp engine (the Ollama integration's own default is 8192).
NUM_CTX = 4096


@dataclass
class ReferenceStack:
    """The reference servers, and the pipeline and entities Home Assistant made for them."""

    servers: list[Server]
    standin: subprocess.Popen[bytes]
    standin_url: str
    pipeline_id: str = ""
    entities: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        """Stops the Ollama stand-in and the Wyoming servers."""
        stop_process(self.standin)
        for server in self.servers:
            server.stop()


def ha_environment() -> dict[str, str]:
    """What ``hass`` needs in its environment to load the ``ollama`` integration: its client on the path."""
    return {"PYTHONPATH": str(HA_EXTRA_SITE)}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except (urllib.error.URLError, OSError):
        return False


async def _wait_for_standin(stack: ReferenceStack) -> None:
    async with asyncio.timeout(180):
        while not await asyncio.to_thread(_answers, f"{stack.standin_url}/api/tags"):
            if stack.standin.poll() is not None:
                raise RuntimeError(f"the Ollama stand-in exited with {stack.standin.returncode}")
            await asyncio.sleep(0.5)


def start_servers(work: Path) -> ReferenceStack:
    """Starts wyoming-faster-whisper (HavenCore's beam size and compute type), wyoming-piper and the Ollama stand-in,
    logging into ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    servers = [
        start_peer("wyoming-faster-whisper", [*faster_whisper_args(work / "faster-whisper"), *MATCHED_ARGS], work),
        start_peer("wyoming-piper", piper_args(work / "piper"), work),
    ]
    return ReferenceStack(servers, *start_standin(work))


def start_standin(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Starts the Ollama stand-in, logging into ``work``; returns its process and URL."""
    port = free_port()
    # The checkout's backend package first, whichever checkout .venv's editable install points at.
    environment = os.environ | {"PYTHONPATH": str(REPO_ROOT / "backend" / "src"), "HF_HUB_OFFLINE": "1"}
    with (work / "ollama-standin.log").open("wb") as log:
        standin = subprocess.Popen(
            [str(BACKEND_PYTHON), "-m", "bench.ollama_standin", "--port", str(port)],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return standin, f"http://127.0.0.1:{port}"


def _suggested_values(form: dict[str, Any]) -> dict[str, Any]:
    """What the frontend's dialog pre-fills: each field's suggested value, else its default."""
    values: dict[str, Any] = {}
    for item in form.get("data_schema", []):
        suggested = (item.get("description") or {}).get("suggested_value")
        if suggested is not None:
            values[item["name"]] = suggested
        elif "default" in item:
            values[item["name"]] = item["default"]
    return values


async def _add_ollama_agent(client: HomeAssistantClient, url: str) -> None:
    """Adds the Ollama server, then a conversation agent on it as a user does in the dialog: the pre-filled form
    with the downloaded model picked, the Assist API ticked and the context set."""
    entry = (await run_flow(client, {"handler": "ollama"}, {"url": url}))["result"]
    start = {"handler": [entry["entry_id"], "conversation"]}
    form = await client.request("POST", SUBENTRY_FLOW, json=start)
    if form.get("type") != "form":
        raise HomeAssistantError(f"Ollama's agent flow did not show its form: {form}")
    models = next(item for item in form["data_schema"] if item["name"] == "model")["selector"]["select"]["options"]
    downloaded = next(option["value"] for option in models if "(downloaded)" in option["label"])
    user_input = _suggested_values(form) | {"model": downloaded, "llm_hass_api": ["assist"], "num_ctx": NUM_CTX}
    result = await client.request("POST", f"{SUBENTRY_FLOW}/{form['flow_id']}", json=user_input)
    if result.get("type") != "create_entry":
        raise HomeAssistantError(f"Ollama's agent flow failed: {result}")


async def set_up_reference(client: HomeAssistantClient, stack: ReferenceStack) -> None:
    """Adds the servers through the ``wyoming`` and ``ollama`` config flows and makes the reference pipeline, with
    "prefer handling commands locally" on (the pipeline setting a user of an LLM agent turns on)."""
    for server in stack.servers:
        await wait_for_wyoming(server.port)
    await _wait_for_standin(stack)
    for server in stack.servers:
        await run_flow(client, {"handler": "wyoming"}, {"host": "127.0.0.1", "port": server.port})
    await _add_ollama_agent(client, stack.standin_url)
    async with asyncio.timeout(60):
        while True:
            wyoming = await integration_entities(client, "wyoming")
            ollama = await integration_entities(client, "ollama")
            if {"stt", "tts"} <= wyoming.keys() and "conversation" in ollama:
                break
            await asyncio.sleep(0.2)
    stack.entities = {"stt": wyoming["stt"], "tts": wyoming["tts"], "conversation": ollama["conversation"]}
    stack.pipeline_id = await ensure_pipeline(
        client, PIPELINE_NAME, ollama["conversation"], wyoming["stt"], wyoming["tts"], prefer_local_intents=True
    )
