"""A generated home in a real ``hass``, as the home-size benchmark applies it: the entities Assist sees are exactly
the exposed devices, each in its area on its floor with its aliases, and the reset brings every device back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bench.big_home import exposed_entity_ids
from bench.generated_home import LIGHT_LEVEL, generate_home, reset_actions
from bench.generated_stack import HASS_START_TIMEOUT, apply_registries, write_generated_config_dir
from demo.ha_client import HomeAssistantClient
from demo.ha_process import start_home_assistant
from demo.provision import onboard, wait_until_running
from tests.backend_process import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOME = generate_home(40)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[HomeAssistantClient]:
    """A ``hass`` with the generated 40-entity home, onboarded and its registries applied."""
    config_dir: Path = tmp_path_factory.mktemp("generated")
    port = free_port()
    write_generated_config_dir(config_dir, port, HOME)
    hass = start_home_assistant(config_dir, port, HASS_START_TIMEOUT)
    client = HomeAssistantClient(hass.url)
    try:
        client.token = await onboard(client, "Bench", "bench", "bench-password-1")
        await wait_until_running(client)
        await apply_registries(client, HOME)
        yield client
    finally:
        await client.close()
        hass.stop()


def _by_id(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


async def test_assist_sees_exactly_the_exposed_devices(client: HomeAssistantClient) -> None:
    assert set(await exposed_entity_ids(client)) == {device.entity_id for device in HOME.exposed}


async def test_devices_are_in_their_areas_on_their_floors_with_their_aliases(client: HomeAssistantClient) -> None:
    floors = _by_id(await client.command("config/floor_registry/list"), "floor_id")
    areas = _by_id(await client.command("config/area_registry/list"), "area_id")
    entities = await client.command(
        "config/entity_registry/get_entries", entity_ids=[device.entity_id for device in HOME.devices]
    )

    assert {area["name"] for area in areas.values()} == {area.name for area in HOME.areas}
    for area in areas.values():
        wanted = next(item for item in HOME.areas if item.name == area["name"])
        assert floors[area["floor_id"]]["name"] == wanted.floor
        assert set(area["aliases"]) == set(wanted.aliases)
    for device in HOME.devices:
        entry = entities[device.entity_id]
        assert areas[entry["area_id"]]["name"] == device.area
        assert set(entry["aliases"]) == set(device.aliases)


async def test_the_reset_brings_back_what_a_command_changed(client: HomeAssistantClient) -> None:
    lamp, lock = "light.office_desk_lamp", "lock.back_door"
    await client.call_service("light", "turn_on", entity_id=lamp, brightness=50)
    await client.call_service("lock", "unlock", entity_id=lock)
    assert (await client.state(lamp), await client.state(lock)) == ("on", "unlocked")

    for call in reset_actions(HOME):
        await client.call_service(call.domain, call.service, **call.data)

    assert (await client.state(lamp), await client.state(lock)) == ("off", "locked")
    assert float(await client.state("input_number.office_desk_lamp_level")) == LIGHT_LEVEL
