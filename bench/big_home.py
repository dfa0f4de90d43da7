"""Grows the demo home to N entities exposed to Assist, for measuring how the agents' prompts grow with the home.

The extra entities are toggle helpers (``input_boolean``), created, placed in areas and exposed through the same
websocket commands the frontend's helper and entity dialogs use, so Home Assistant treats them as a user's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from demo.ha_client import HomeAssistantClient

EXTRA_AREAS = (
    "Hallway",
    "Office",
    "Garage",
    "Dining Room",
    "Bathroom",
    "Guest Room",
    "Laundry Room",
    "Attic",
    "Basement",
    "Porch",
    "Nursery",
    "Study",
)
DEVICE_KINDS = ("Lamp", "Fan", "Heater", "Plug", "Speaker", "Ceiling Light", "Humidifier", "Coffee Maker")


@dataclass(frozen=True, slots=True)
class ExtraDevice:
    """A generated helper: its friendly name and the name of its area."""

    name: str
    area: str


def extra_devices(first: int, count: int) -> list[ExtraDevice]:
    """The generated devices ``first`` .. ``first + count - 1``: every area gets each kind once before any repeats,
    and names stay unique (a number is added from the second round on)."""
    devices = []
    per_round = len(EXTRA_AREAS) * len(DEVICE_KINDS)
    for index in range(first, first + count):
        area = EXTRA_AREAS[index % len(EXTRA_AREAS)]
        kind = DEVICE_KINDS[index // len(EXTRA_AREAS) % len(DEVICE_KINDS)]
        round_number = index // per_round
        suffix = f" {round_number + 1}" if round_number else ""
        devices.append(ExtraDevice(f"{area} {kind}{suffix}", area))
    return devices


async def exposed_entity_ids(client: HomeAssistantClient) -> list[str]:
    """The existing entities Assist may see."""
    listing: dict[str, Any] = await client.command("homeassistant/expose_entity/list")
    existing = {state["entity_id"] for state in await client.request("GET", "/api/states")}
    return [
        entity_id
        for entity_id, settings in listing["exposed_entities"].items()
        if settings.get("conversation") and entity_id in existing
    ]


async def grow_home(client: HomeAssistantClient, exposed: int, generated_so_far: int) -> int:
    """Adds generated helpers in their areas, exposed to Assist, until ``exposed`` entities are; returns how many
    helpers have been generated in all."""
    missing = exposed - len(await exposed_entity_ids(client))
    if missing <= 0:
        return generated_so_far
    areas = {area["name"]: area["area_id"] for area in await client.command("config/area_registry/list")}
    for name in EXTRA_AREAS:
        if name not in areas:
            areas[name] = (await client.command("config/area_registry/create", name=name))["area_id"]
    entity_ids = []
    for device in extra_devices(generated_so_far, missing):
        item = await client.command("input_boolean/create", name=device.name)
        entity_id = f"input_boolean.{item['id']}"
        await client.command("config/entity_registry/update", entity_id=entity_id, area_id=areas[device.area])
        entity_ids.append(entity_id)
    await client.command(
        "homeassistant/expose_entity", assistants=["conversation"], entity_ids=entity_ids, should_expose=True
    )
    return generated_so_far + missing
