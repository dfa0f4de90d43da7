"""Generated homes of any size, the same for a seed and a size: floors, areas and devices with aliases, look-alike
names and devices hidden from Assist, as Home Assistant configuration made of YAML-configurable integrations.

Every device is a real entity: a template entity (light, switch, fan, cover, lock, sensor, binary sensor) switched
through the input helpers behind it, or a ``generic_thermostat`` heating through an input boolean. The devices are
exposed to Assist (``conversation``), the helpers are not, nor are a few devices (``exposed=False``). A generated home
is applied in-process to a test's ``hass`` by ``tests.integration.generated_home`` and to a real ``hass`` by
``bench.generated_stack``; ``bench.generated_commands`` derives the commands to run against it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from homeassistant.util import slugify

from bench.eval_suite import ServiceCall
from demo.home_config import _fan, _light, _toggle

# The homes the benchmark and the tests use, by the number of entities exposed to Assist.
SIZES = (15, 40, 150, 500, 2000)
DEFAULT_SEED = 17


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of device: its domain, its name after the area's ("desk lamp" makes "Office desk lamp"), and the
    device class or variant its configuration uses. A ``standalone`` name stands without the area ("Front door")."""

    domain: str
    noun: str
    variant: str = ""
    standalone: bool = False


LIGHT = Kind("light", "light")
THERMOSTAT = Kind("climate", "thermostat")
TEMPERATURE = Kind("sensor", "temperature", "temperature")
HUMIDITY = Kind("sensor", "humidity", "humidity")
KINDS = {
    kind.noun: kind
    for kind in (
        LIGHT,
        *(
            Kind("light", noun)
            for noun in ("ceiling light", "desk lamp", "floor lamp", "lamp", "pendant lights", "wall lights")
        ),
        *(Kind("light", noun) for noun in ("strip lights", "bedside lamp", "spotlights", "night light")),
        *(Kind("switch", noun) for noun in ("plug", "coffee maker", "kettle", "tv", "dehumidifier", "towel rail")),
        Kind("switch", "aquarium pump"),
        *(Kind("fan", noun) for noun in ("ceiling fan", "fan", "extractor fan")),
        Kind("cover", "blinds", "blind"),
        Kind("cover", "curtains", "curtain"),
        Kind("cover", "shutters", "shutter"),
        Kind("cover", "garage door", "garage", standalone=True),
        Kind("lock", "front door", standalone=True),
        Kind("lock", "back door", standalone=True),
        Kind("lock", "patio door", standalone=True),
        THERMOSTAT,
        TEMPERATURE,
        HUMIDITY,
        Kind("binary_sensor", "window", "window"),
        Kind("binary_sensor", "door", "door"),
        Kind("binary_sensor", "motion", "motion"),
        Kind("lock", "safe"),
        Kind("light", "cabinet lights"),
        Kind("switch", "spare plug"),
    )
}
# What Assist must not see: one per hundred exposed entities, at least the first two; the last kind goes to any area.
HIDDEN_KINDS = (("Office", "safe"), ("Kitchen", "cabinet lights"), ("", "spare plug"))
# Kinds every home has only where the room's own list names them.
_ONLY_NAMED = {"front door", "back door", "patio door", "garage door", "safe", "cabinet lights", "spare plug"}

# Rooms in the order homes get them, with their aliases and the devices they get first; rooms past the list come
# again numbered ("Bedroom 2"). Kitchen and Kitchenette, and the Office's two lamps, are look-alike names.
ROOMS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Kitchen", ("cookhouse",), ("light", "back door", "blinds", "temperature", "window", "coffee maker")),
    ("Kitchenette", (), ("light", "kettle")),
    ("Office", ("workroom",), ("desk lamp", "floor lamp", "thermostat", "plug")),
    ("Living Room", ("lounge",), ("lamp", "thermostat", "ceiling fan", "blinds", "humidity", "tv", "patio door")),
    ("Bedroom", ("master bedroom",), ("light", "fan", "curtains", "bedside lamp", "window")),
    ("Study", ("reading room",), ("light", "thermostat", "blinds")),
    ("Hallway", ("entrance",), ("light", "front door", "motion")),
    ("Garage", (), ("garage door", "light")),
    ("Bathroom", (), ("light", "extractor fan", "towel rail", "humidity")),
    ("Dining Room", (), ("pendant lights",)),
    ("Nursery", ("baby room",), ("night light",)),
    ("Guest Room", (), ()),
    ("Laundry Room", ("utility room",), ("dehumidifier",)),
    ("Attic", (), ()),
    ("Basement", ("cellar",), ()),
    ("Porch", (), ()),
    ("Patio", (), ()),
    ("Garden", ("backyard",), ()),
    ("Pantry", (), ()),
    ("Playroom", (), ()),
    ("Gym", (), ()),
    ("Library", (), ()),
    ("Workshop", (), ()),
    ("Conservatory", (), ()),
    ("Loft", (), ()),
    ("Sunroom", (), ()),
    ("Mudroom", (), ()),
    ("Ensuite", (), ()),
    ("Landing", (), ()),
    ("Music Room", (), ()),
    ("Cinema", ("home theater",), ()),
    ("Studio", (), ()),
    ("Sauna", (), ()),
    ("Shed", (), ()),
    ("Greenhouse", (), ()),
    ("Balcony", (), ()),
    ("Terrace", (), ()),
    ("Wine Cellar", (), ()),
    ("Kids Room", (), ()),
    ("Games Room", (), ()),
)
FLOORS = (
    ("Ground Floor", 0, ("downstairs",)),
    ("First Floor", 1, ("upstairs",)),
    ("Basement Level", -1, ()),
    ("Second Floor", 2, ()),
    ("Third Floor", 3, ()),
    ("Fourth Floor", 4, ()),
)
# Scripts, one per 40 exposed entities, each switching off the lights of an area; numbered when the list runs out.
SCRIPT = Kind("script", "script")
SCRIPT_NAMES = (
    "Good night", "Movie time", "Leaving home", "Quiet time", "Lights out", "Away mode", "Reading time", "Nap time",
)  # fmt: skip
ENTITIES_PER_SCRIPT = 40
# Everything rests in this state before a case: lights and fans off at full level, covers closed, doors locked,
# thermostats heating to 21 °C.
LIGHT_LEVEL, FAN_SPEED, TARGET_TEMPERATURE = 255, 100, 21.0


@dataclass(frozen=True, slots=True)
class Floor:
    """A floor: its name, level and aliases."""

    name: str
    level: int
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Area:
    """An area: its name, aliases and the name of its floor."""

    name: str
    aliases: tuple[str, ...]
    floor: str


@dataclass(frozen=True, slots=True)
class Device:
    """A generated entity: what it is, where, under which names, and whether Assist sees it. ``value`` is a sensor's
    reading (a binary sensor's 1 or 0); ``sensor`` is the temperature sensor a thermostat reads, ``targets`` the
    lights a script switches off."""

    entity_id: str
    name: str
    kind: Kind
    area: str
    aliases: tuple[str, ...] = ()
    exposed: bool = True
    value: float | None = None
    sensor: str = ""
    targets: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The object id, which also names the helpers behind the entity."""
        return self.entity_id.split(".", 1)[1]


@dataclass(frozen=True, slots=True)
class GeneratedHome:
    """A generated home: floors, areas and devices, and the helpers behind the devices."""

    seed: int
    size: int
    floors: tuple[Floor, ...]
    areas: tuple[Area, ...]
    devices: tuple[Device, ...]
    helpers: tuple[str, ...]

    @property
    def exposed(self) -> tuple[Device, ...]:
        """The devices Assist sees."""
        return tuple(device for device in self.devices if device.exposed)

    def device(self, entity_id: str) -> Device:
        """The device with this entity id."""
        return next(device for device in self.devices if device.entity_id == entity_id)

    def in_area(self, area: str, domain: str | None = None) -> list[Device]:
        """The exposed devices of an area, of one domain or all."""
        return [d for d in self.exposed if d.area == area and (domain is None or d.kind.domain == domain)]


# Entity aliases, each given once, to the first device of its kind in a home: what people call a device.
ENTITY_ALIASES = {
    ("Study", "light"): "reading light",
    ("Living Room", "tv"): "telly",
    ("Kitchen", "coffee maker"): "espresso machine",
    ("Bedroom", "fan"): "cooling fan",
    ("Dining Room", "pendant lights"): "dinner lights",
    ("Hallway", "front door"): "main door",
}


def _rooms(count: int) -> Iterator[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """The first ``count`` rooms; after the list, its rooms again numbered, without aliases."""
    for index in range(count):
        name, aliases, first = ROOMS[index % len(ROOMS)]
        copy = index // len(ROOMS)
        if copy:  # a second "Front door" would be ambiguous
            yield f"{name} {copy + 1}", (), tuple(noun for noun in first if not KINDS[noun].standalone)
        else:
            yield name, aliases, first


def _queue(first: tuple[str, ...], rng: random.Random) -> list[str]:
    """The kinds an area gets in order: the room's own first, then the common ones shuffled."""
    rest = [noun for noun in KINDS if noun not in first and noun not in _ONLY_NAMED]
    rng.shuffle(rest)
    return [*first, *rest]


def _device(kind: Kind, area: str, rng: random.Random, exposed: bool = True) -> Device:
    """A device of this kind in this area; a sensor gets a reading drawn from ``rng``."""
    name = kind.noun.capitalize() if kind.standalone else f"{area} {kind.noun}"
    value: float | None = None
    if kind.variant == "temperature":
        value = rng.choice(range(36, 48)) / 2  # 18.0 .. 23.5 °C
    elif kind.variant == "humidity":
        value = float(rng.randrange(35, 66))
    elif kind.domain == "binary_sensor":
        value = float(rng.random() < 0.3)
    return Device(f"{kind.domain}.{slugify(name)}", name, kind, area, exposed=exposed, value=value)


def generate_home(size: int, seed: int = DEFAULT_SEED) -> GeneratedHome:
    """A home with exactly ``size`` exposed entities: more areas the bigger it is (3 devices per area in a small
    home, 9 in a 2,000-entity one), the areas on up to six floors, devices handed out to the areas in turn from each
    area's list, scripts, and hidden devices besides."""
    rng = random.Random(f"{seed}/{size}")
    area_count = max(4, round(size**0.75 / 1.5))
    floor_count = min(len(FLOORS), 2 + area_count // 12)
    floors = tuple(Floor(*FLOORS[index]) for index in range(floor_count))
    areas = tuple(
        Area(name, aliases, floors[index % floor_count].name)
        for index, (name, aliases, _) in enumerate(_rooms(area_count))
    )
    queues = {area.name: _queue(first, rng) for area, (_, _, first) in zip(areas, _rooms(area_count), strict=True)}
    devices: list[Device] = []
    script_count = size // ENTITIES_PER_SCRIPT
    while len(devices) < size - script_count:
        for area in areas:
            if len(devices) >= size - script_count:
                break
            taken = {device.kind.noun for device in devices if device.area == area.name}
            queue = queues[area.name]
            if not queue:
                continue
            noun = queue.pop(0)
            if noun == THERMOSTAT.noun:
                if TEMPERATURE.noun not in taken:
                    if size - script_count - len(devices) < 2:
                        continue
                    devices.append(_device(TEMPERATURE, area.name, rng))
                    queue.remove(TEMPERATURE.noun)
            elif noun in taken:
                continue
            devices.append(_device(KINDS[noun], area.name, rng))
        if not any(queues.values()):
            raise ValueError(f"{size} entities do not fit {area_count} areas")
    devices = [
        replace(d, aliases=(alias,)) if (alias := ENTITY_ALIASES.get((d.area, d.kind.noun))) else d for d in devices
    ]
    devices += _scripts(devices, script_count)
    for index in range(max(2, size // 100)):
        place, noun = HIDDEN_KINDS[min(index, len(HIDDEN_KINDS) - 1)]
        devices.append(_device(KINDS[noun], place or areas[index % len(areas)].name, rng, exposed=False))
    devices = _with_thermostat_sensors(devices)
    helpers = sorted(helper for device in devices for helper in _device_helpers(device))
    return GeneratedHome(seed, size, floors, areas, tuple(devices), tuple(helpers))


def _scripts(devices: list[Device], count: int) -> list[Device]:
    """``count`` scripts, each switching off the lights of the next area that has some, in that area."""
    lit: dict[str, list[str]] = {}
    for device in devices:
        if device.kind.domain == "light":
            lit.setdefault(device.area, []).append(device.entity_id)
    areas = list(lit)
    scripts = []
    for index in range(count):
        name = SCRIPT_NAMES[index % len(SCRIPT_NAMES)]
        name += f" {index // len(SCRIPT_NAMES) + 1}" if index >= len(SCRIPT_NAMES) else ""
        area = areas[index % len(areas)]
        scripts.append(Device(f"script.{slugify(name)}", name, SCRIPT, area, targets=tuple(lit[area])))
    return scripts


def _with_thermostat_sensors(devices: list[Device]) -> list[Device]:
    """Each thermostat reads its area's temperature sensor."""
    sensors = {d.area: d.entity_id for d in devices if d.kind == TEMPERATURE}
    return [replace(d, sensor=sensors[d.area]) if d.kind == THERMOSTAT else d for d in devices]


def _device_helpers(device: Device) -> tuple[str, ...]:
    """The input helpers that hold a device's state."""
    key, domain = device.key, device.kind.domain
    if domain == "light":
        return (f"input_boolean.{key}_power", f"input_number.{key}_level")
    if domain == "fan":
        return (f"input_boolean.{key}_power", f"input_number.{key}_speed")
    if domain == "cover" and device.kind.variant != "garage":
        return (f"input_number.{key}_position",)
    if domain in ("switch", "cover", "lock"):
        return (f"input_boolean.{key}_power",)
    if domain == "climate":
        return (f"input_boolean.{key}_heater",)
    return ()


def _cover(device: Device) -> dict[str, Any]:
    """Blinds, curtains and shutters by position (0-100 in an input number); a garage door open or closed."""
    key = device.key
    base: dict[str, Any] = {"name": device.name, "unique_id": f"generated_{key}", "device_class": device.kind.variant}
    if device.kind.variant == "garage":
        power = f"input_boolean.{key}_power"
        state = f"{{{{ 'open' if is_state('{power}', 'on') else 'closed' }}}}"
        return {**base, "state": state, **_toggle(power, "open_cover", "close_cover")}
    position = f"input_number.{key}_position"
    set_position = {"action": "input_number.set_value", "target": {"entity_id": position}}
    return {
        **base,
        "position": f"{{{{ states('{position}') | int }}}}",
        "set_cover_position": {**set_position, "data": {"value": "{{ position }}"}},
    }


def _template_entity(device: Device) -> dict[str, Any]:
    """The template entity of a device (not a thermostat), with its entity id fixed."""
    key, domain, power = device.key, device.kind.domain, f"input_boolean.{device.key}_power"
    fixed = {"default_entity_id": device.entity_id, "unique_id": f"generated_{key}"}
    if domain == "light":
        return {**_light(key, device.name), **fixed}
    if domain == "fan":
        return {**_fan(key, device.name), **fixed}
    if domain == "cover":
        return {**_cover(device), **fixed}
    on = f"{{{{ is_state('{power}', 'on') }}}}"
    if domain == "switch":
        return {"name": device.name, "state": on, **_toggle(power, "turn_on", "turn_off"), **fixed}
    if domain == "lock":
        return {"name": device.name, "state": on, **_toggle(power, "lock", "unlock"), **fixed}
    if domain == "sensor":
        unit = "°C" if device.kind.variant == "temperature" else "%"
        return {
            "name": device.name,
            "state": f"{device.value}",
            "unit_of_measurement": unit,
            "device_class": device.kind.variant,
            "state_class": "measurement",
            **fixed,
        }
    if domain == "binary_sensor":
        state = "{{ true }}" if device.value else "{{ false }}"
        return {"name": device.name, "state": state, "device_class": device.kind.variant, **fixed}
    raise ValueError(f"no template for {device.entity_id}")


def configuration(home: GeneratedHome) -> dict[str, Any]:
    """The home's integrations as Home Assistant's configuration (``input_boolean``, ``input_number``,
    ``template``, ``climate``, ``script``), their initial states the resting state."""
    booleans: dict[str, Any] = {}
    numbers: dict[str, Any] = {}
    locks = {f"input_boolean.{d.key}_power" for d in home.devices if d.kind.domain == "lock"}
    for helper in home.helpers:
        domain, key = helper.split(".", 1)
        if domain == "input_boolean":
            booleans[key] = {"initial": helper in locks}
        elif key.endswith("_level"):
            numbers[key] = {"min": 0, "max": 255, "step": 1, "initial": LIGHT_LEVEL}
        elif key.endswith("_speed"):
            numbers[key] = {"min": 0, "max": 100, "step": 1, "initial": FAN_SPEED}
        else:
            numbers[key] = {"min": 0, "max": 100, "step": 1, "initial": 0}
    templates: dict[str, list[dict[str, Any]]] = {}
    thermostats = []
    scripts: dict[str, Any] = {}
    for device in home.devices:
        if device.kind == SCRIPT:
            lights_off = {"action": "light.turn_off", "target": {"entity_id": list(device.targets)}}
            scripts[device.key] = {"alias": device.name, "sequence": [lights_off]}
        elif device.kind.domain == "climate":
            thermostats.append(
                {
                    "platform": "generic_thermostat",
                    "name": device.name,
                    "unique_id": f"generated_{device.key}",
                    "heater": f"input_boolean.{device.key}_heater",
                    "target_sensor": device.sensor,
                    "target_temp": TARGET_TEMPERATURE,
                    "initial_hvac_mode": "heat",
                }
            )
        else:
            templates.setdefault(device.kind.domain, []).append(_template_entity(device))
    return {
        "input_boolean": booleans,
        "input_number": numbers,
        "template": [templates],
        "climate": thermostats,
        "script": scripts,
    }


def reset_actions(home: GeneratedHome) -> tuple[ServiceCall, ...]:
    """The actions that bring every device back to its resting state, a few calls whatever the size."""

    def ids(prefix: str, domains: tuple[str, ...], suffix: str, garage: bool | None = None) -> list[str]:
        return [
            f"{prefix}.{d.key}{suffix}"
            for d in home.devices
            if d.kind.domain in domains and (garage is None or (d.kind.variant == "garage") == garage)
        ]

    groups: list[tuple[str, str, list[str], Mapping[str, Any]]] = [
        ("input_boolean", "turn_off", ids("input_boolean", ("light", "fan", "switch"), "_power"), {}),
        ("input_boolean", "turn_off", ids("input_boolean", ("cover",), "_power", garage=True), {}),
        ("input_boolean", "turn_on", ids("input_boolean", ("lock",), "_power"), {}),
        ("input_number", "set_value", ids("input_number", ("light",), "_level"), {"value": LIGHT_LEVEL}),
        ("input_number", "set_value", ids("input_number", ("fan",), "_speed"), {"value": FAN_SPEED}),
        ("input_number", "set_value", ids("input_number", ("cover",), "_position", garage=False), {"value": 0}),
        ("climate", "set_hvac_mode", ids("climate", ("climate",), ""), {"hvac_mode": "heat"}),
        ("climate", "set_temperature", ids("climate", ("climate",), ""), {"temperature": TARGET_TEMPERATURE}),
    ]
    return tuple(
        ServiceCall(domain, service, {"entity_id": entity_ids, **data})
        for domain, service, entity_ids, data in groups
        if entity_ids
    )
