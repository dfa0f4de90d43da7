"""Applies a generated home (``bench.generated_home``) to a test's ``hass``: its integrations set up from the
generated configuration, floors and areas created, each entity placed with its aliases and exposed to Assist or not."""

from __future__ import annotations

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from homeassistant.setup import async_setup_component

from bench.generated_home import GeneratedHome, configuration


async def async_set_up_generated_home(hass: HomeAssistant, home: GeneratedHome) -> None:
    """Sets the home up in ``hass`` (which has the ``homeassistant`` integration), as the real hass gets it."""
    for domain, config in configuration(home).items():
        assert await async_setup_component(hass, domain, {domain: config})
    await hass.async_block_till_done()
    floors = fr.async_get(hass)
    floor_ids = {
        floor.name: floors.async_create(floor.name, level=floor.level, aliases=set(floor.aliases)).floor_id
        for floor in home.floors
    }
    areas = ar.async_get(hass)
    area_ids = {
        area.name: areas.async_create(area.name, floor_id=floor_ids[area.floor], aliases=set(area.aliases)).id
        for area in home.areas
    }
    entities = er.async_get(hass)
    for device in home.devices:
        entities.async_update_entity(device.entity_id, area_id=area_ids[device.area], aliases=set(device.aliases))
        async_expose_entity(hass, "conversation", device.entity_id, device.exposed)
    for helper in home.helpers:
        async_expose_entity(hass, "conversation", helper, False)
    await hass.async_block_till_done()
