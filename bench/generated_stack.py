"""A generated home (``bench.generated_home``) in a real ``hass``: its configuration written into a config dir, and
its floors, areas, aliases and exposure applied over the websocket API as the frontend's dialogs do; then the backend
and HavenCore with its Assist pipeline, as ``demo.stack`` starts the demo home."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from demo.ha_client import HomeAssistantClient
from demo.ha_process import RunningHomeAssistant, start_home_assistant
from demo.home_config import configuration as demo_configuration
from demo.home_config import write_config_dir
from demo.provision import configure_havencore, havencore_entities, onboard, set_up_pipeline, wait_until_running
from demo.stack import DEMO_USER_NAME, INTEGRATION_SOURCE, DemoHome, DemoState, stop_started
from tests.backend_process import free_port, start_backend

from .generated_home import GeneratedHome, configuration

# A big home's template entities take a while to start on two cores.
HASS_START_TIMEOUT = 600.0


def write_generated_config_dir(config_dir: Path, http_port: int, home: GeneratedHome) -> None:
    """The demo's config dir (offline integrations, HavenCore linked in, onboarding preset) with the generated home
    in place of the demo's entities."""
    write_config_dir(config_dir, http_port, INTEGRATION_SOURCE)
    config: dict[str, Any] = {**demo_configuration(http_port), **configuration(home)}
    config.pop("automation")  # the demo's !include, which JSON cannot write
    (config_dir / "configuration.yaml").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


async def apply_registries(client: HomeAssistantClient, home: GeneratedHome) -> None:
    """Creates the floors and areas (onboarding's own areas are reused by name or removed), places each entity with
    its aliases, and shows Assist the exposed devices but not the hidden ones or the helpers."""
    floor_ids = {}
    for floor in home.floors:
        made = await client.command(
            "config/floor_registry/create", name=floor.name, level=floor.level, aliases=list(floor.aliases)
        )
        floor_ids[floor.name] = made["floor_id"]
    existing = {area["name"]: area["area_id"] for area in await client.command("config/area_registry/list")}
    area_ids = {}
    for area in home.areas:
        fields = {"floor_id": floor_ids[area.floor], "aliases": list(area.aliases)}
        if area.name in existing:
            await client.command("config/area_registry/update", area_id=existing[area.name], **fields)
            area_ids[area.name] = existing[area.name]
        else:
            area_ids[area.name] = (await client.command("config/area_registry/create", name=area.name, **fields))[
                "area_id"
            ]
    for name, area_id in existing.items():
        if name not in area_ids:
            await client.command("config/area_registry/delete", area_id=area_id)
    for device in home.devices:
        await client.command(
            "config/entity_registry/update",
            entity_id=device.entity_id,
            area_id=area_ids[device.area],
            aliases=list(device.aliases),
        )
    for exposed, entity_ids in (
        (True, [d.entity_id for d in home.exposed]),
        (False, [*(d.entity_id for d in home.devices if not d.exposed), *home.helpers]),
    ):
        await client.command(
            "homeassistant/expose_entity", assistants=["conversation"], entity_ids=entity_ids, should_expose=exposed
        )


async def start_generated_home(work: Path, home: GeneratedHome, backend_args: tuple[str, ...] = ()) -> DemoHome:
    """Starts the backend (with ``backend_args``) and a ``hass`` with the generated home under ``work``, onboarded,
    HavenCore added through its config flow and its pipeline preferred."""
    state = DemoState()
    backend = await asyncio.to_thread(start_backend, work / "backend", state.api_key, backend_args, port=free_port())
    hass: RunningHomeAssistant | None = None
    client: HomeAssistantClient | None = None
    try:
        port = free_port()
        await asyncio.to_thread(write_generated_config_dir, work / "ha", port, home)
        hass = await asyncio.to_thread(start_home_assistant, work / "ha", port, HASS_START_TIMEOUT)
        client = HomeAssistantClient(hass.url)
        state.token = await onboard(client, DEMO_USER_NAME, state.username, state.password)
        client.token = state.token
        await wait_until_running(client)
        await apply_registries(client, home)
        await configure_havencore(client, backend.url, state.api_key, recreate=False, reconfigure=False)
        pipeline_id = await set_up_pipeline(client)
        entities = await havencore_entities(client)
    except BaseException:
        await stop_started(backend, hass, client)
        raise
    return DemoHome(backend, hass, client, state, pipeline_id, entities)
