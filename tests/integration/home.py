"""A small demo home for agent tests: template lights backed by input booleans, in areas, exposed to Assist."""

from __future__ import annotations

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

LIGHTS = {"kitchen": "Kitchen", "bedroom": "Bedroom"}


def _light(key: str, name: str, stuck: bool) -> dict[str, object]:
    power = f"input_boolean.{key}_power"
    nothing: dict[str, object] = {"delay": 0}
    return {
        "name": f"{name} light",
        "unique_id": f"{key}_light",
        "state": f"{{{{ is_state('{power}', 'on') }}}}",
        # A stuck light takes the command and does nothing, like a bulb that has lost power.
        "turn_on": nothing if stuck else {"action": "input_boolean.turn_on", "target": {"entity_id": power}},
        "turn_off": nothing if stuck else {"action": "input_boolean.turn_off", "target": {"entity_id": power}},
    }


async def async_set_up_home(
    hass: HomeAssistant, *, unexposed: tuple[str, ...] = (), stuck: tuple[str, ...] = ()
) -> None:
    """Creates ``light.<key>_light`` in each room's area; keys in ``unexposed`` stay hidden from Assist, lights in
    ``stuck`` ignore their commands."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {f"{key}_power": {} for key in LIGHTS}})
    assert await async_setup_component(
        hass, "template", {"template": [{"light": [_light(key, name, key in stuck) for key, name in LIGHTS.items()]}]}
    )
    await hass.async_block_till_done()
    areas = ar.async_get(hass)
    entities = er.async_get(hass)
    for key, name in LIGHTS.items():
        area = areas.async_get_area_by_name(name) or areas.async_create(name)
        entity_id = f"light.{key}_light"
        entities.async_update_entity(entity_id, area_id=area.id)
        async_expose_entity(hass, "conversation", entity_id, key not in unexposed)
        async_expose_entity(hass, "conversation", f"input_boolean.{key}_power", False)
    await hass.async_block_till_done()
