"""The whole demo: the backend and Home Assistant as subprocesses, provisioned once, with what they need to persist."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.backend_process import REPO_ROOT, RunningBackend, http_get, start_backend

from .assist import AssistRun, run_pipeline, spoken_command
from .ha_client import HomeAssistantClient
from .ha_process import RunningHomeAssistant, start_home_assistant
from .home_config import write_config_dir
from .provision import (
    configure_havencore,
    havencore_entities,
    onboard,
    place_entities,
    set_up_pipeline,
    wait_until_running,
)

INTEGRATION_SOURCE = REPO_ROOT / "custom_components" / "havencore"
DEMO_USER_NAME = "Demo User"
CHECK_COMMAND = "turn on the kitchen light"
CHECK_ENTITY = "light.kitchen_light"


@dataclass
class DemoState:
    """What the first start made and later starts reuse, kept in ``demo.json``."""

    api_key: str = field(default_factory=lambda: secrets.token_hex(16))
    username: str = "demo"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = ""
    backend_url: str = ""
    capabilities: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> DemoState:
        """The saved state, or a new one with a fresh key and password."""
        return cls(**json.loads(path.read_text(encoding="utf-8"))) if path.exists() else cls()

    def save(self, path: Path) -> None:
        """Writes the state, readable by its owner only (it holds credentials)."""
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        path.chmod(0o600)


@dataclass
class DemoHome:
    """A running demo: both processes, a client logged in as the demo user, and the Assist pipeline."""

    backend: RunningBackend
    hass: RunningHomeAssistant
    client: HomeAssistantClient
    state: DemoState
    pipeline_id: str
    entities: dict[str, str]

    async def stop(self) -> None:
        """Stops Home Assistant, then the backend it talks to."""
        await self.client.close()
        await asyncio.to_thread(self.hass.stop)
        await asyncio.to_thread(self.backend.stop)

    async def run_check(self) -> tuple[bool, AssistRun]:
        """Switches the kitchen light off, says or types the check command through the pipeline, and tells whether
        the light came on, the pipeline ran to its end and (with TTS) the reply's audio is served."""
        await self.client.call_service("light", "turn_off", entity_id=CHECK_ENTITY)
        if "stt" in self.entities:
            audio = await asyncio.to_thread(spoken_command, CHECK_COMMAND)
            run = await run_pipeline(self.client, self.pipeline_id, audio=audio)
        else:
            end_stage = "tts" if "tts" in self.entities else "intent"
            run = await run_pipeline(self.client, self.pipeline_id, text=CHECK_COMMAND, end_stage=end_stage)
        ok = "error" not in run.types and await self.client.state(CHECK_ENTITY) == "on"
        if ok and "tts" in self.entities:
            ok = len(await self.client.read_bytes(run.tts_url)) > 0
        return ok, run


def _load_state(path: Path) -> DemoState:
    """The demo's state, saved at once so a new key and password survive a failed first start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = DemoState.load(path)
    state.save(path)
    return state


async def stop_started(
    backend: RunningBackend, hass: RunningHomeAssistant | None, client: HomeAssistantClient | None
) -> None:
    """Stops what a start that failed part-way got running."""
    if client is not None:
        await client.close()
    if hass is not None:
        await asyncio.to_thread(hass.stop)
    await asyncio.to_thread(backend.stop)


async def start_demo(
    demo_dir: Path,
    backend_port: int,
    ha_port: int,
    progress: Callable[[str], None],
    backend_args: tuple[str, ...] = (),
) -> DemoHome:
    """Starts the backend (with ``backend_args``) and Home Assistant under ``demo_dir``, provisioning whatever is not
    there yet."""
    state_path = demo_dir / "demo.json"
    state = await asyncio.to_thread(_load_state, state_path)

    progress(f"starting the HavenCore backend on port {backend_port}")
    backend = await asyncio.to_thread(
        start_backend, demo_dir / "backend", state.api_key, backend_args, port=backend_port
    )
    hass: RunningHomeAssistant | None = None
    client: HomeAssistantClient | None = None
    try:
        _, info = await asyncio.to_thread(http_get, f"{backend.url}/v1/havencore/info", state.api_key)
        capabilities = sorted(info["capabilities"])

        progress(f"starting Home Assistant on port {ha_port} (config in {demo_dir / 'ha'})")
        await asyncio.to_thread(write_config_dir, demo_dir / "ha", ha_port, INTEGRATION_SOURCE)
        hass = await asyncio.to_thread(start_home_assistant, demo_dir / "ha", ha_port)
        client = HomeAssistantClient(hass.url, state.token)
        if not state.token:
            progress("onboarding: creating the demo user")
            state.token = await onboard(client, DEMO_USER_NAME, state.username, state.password)
            client.token = state.token
            await asyncio.to_thread(state.save, state_path)
        await wait_until_running(client)

        progress("placing the demo entities in their areas and exposing them to Assist")
        await place_entities(client)
        progress("adding HavenCore through its config flow")
        await configure_havencore(
            client,
            backend.url,
            state.api_key,
            recreate=bool(state.backend_url) and capabilities != state.capabilities,
            reconfigure=state.backend_url != backend.url,
        )
        state.backend_url, state.capabilities = backend.url, capabilities
        await asyncio.to_thread(state.save, state_path)
        progress("setting up the HavenCore Assist pipeline")
        pipeline_id = await set_up_pipeline(client)
        entities = await havencore_entities(client)
    except BaseException:
        await stop_started(backend, hass, client)
        raise
    return DemoHome(backend, hass, client, state, pipeline_id, entities)
