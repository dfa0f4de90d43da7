"""Registry changes that alter what exposed entities are called or where they are, and those that do not."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.havencore.vocabulary_changes import async_listen_vocabulary_changes
from tests.integration.home import async_set_up_home


async def test_renames_and_moves_are_noticed_other_changes_are_not(hass_with_core: HomeAssistant) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    entities, devices = er.async_get(hass), dr.async_get(hass)
    areas, floors = ar.async_get(hass), fr.async_get(hass)
    source = MockConfigEntry(domain="test")
    source.add_to_hass(hass)
    device = devices.async_get_or_create(config_entry_id=source.entry_id, identifiers={("test", "lamp")}, name="Lamp")
    floor = floors.async_create("Ground floor")
    calls: list[None] = []
    unsubscribe = async_listen_vocabulary_changes(hass, lambda: calls.append(None))

    def noticed() -> int:
        count = len(calls)
        calls.clear()
        return count

    entities.async_update_entity("light.kitchen_light", name="Stove light")
    entities.async_update_entity("light.kitchen_light", aliases={"Hob light"})
    await hass.async_block_till_done()
    assert noticed() == 2

    # Neither an exposed entity's icon nor a new entity that Assist does not get by default.
    entities.async_update_entity("light.kitchen_light", icon="mdi:lamp")
    entities.async_get_or_create("stt", "test", "mic", suggested_object_id="test_mic")
    await hass.async_block_till_done()
    assert noticed() == 0

    devices.async_update_device(device.id, name_by_user="Desk lamp")
    devices.async_update_device(device.id, sw_version="2.0")
    await hass.async_block_till_done()
    assert noticed() == 1

    kitchen = areas.async_get_area_by_name("Kitchen")
    assert kitchen is not None
    areas.async_update(kitchen.id, floor_id=floor.floor_id)
    areas.async_create("Attic")
    floors.async_update(floor.floor_id, aliases={"Downstairs"})
    await hass.async_block_till_done()
    assert noticed() == 2

    unsubscribe()
    entities.async_update_entity("light.kitchen_light", name="Kitchen light")
    await hass.async_block_till_done()
    assert noticed() == 0
