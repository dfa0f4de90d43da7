"""The commands to run against a generated home (``bench.generated_home``), built from its own names, each with
the states it must leave, in ``bench.eval_suite``'s format so ``bench.eval_commands`` scores them.

Kinds: a device by its name (next to a look-alike) and by its alias, all lights of an area (by name or alias) and of
a floor, a brightness, position, fan speed or temperature set, questions about states, indirect requests, an
everyday word for a device ("the heating" for a thermostat), a script, chit-chat, and devices Assist does not see
(nothing may change). A kind the home has no devices for is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bench.eval_suite import Case, Expect, ServiceCall
from bench.generated_home import Device, GeneratedHome

ON, OFF = Expect("on"), Expect("off")


def switched_on(device: Device) -> ServiceCall:
    """The action that switches a light, fan or switch on through its helper (a starting state)."""
    return ServiceCall("input_boolean", "turn_on", {"entity_id": f"input_boolean.{device.key}_power"})


def _number_words(value: float) -> tuple[str, ...]:
    """How a reply may write a reading: 21.5 as "21.5" or "21,5", 21.0 as "21"."""
    if value == int(value):
        return (str(int(value)),)
    return (f"{value}", f"{value}".replace(".", ","))


def _first(devices: list[Device], test: Callable[[Device], bool]) -> Device | None:
    return next((device for device in devices if test(device)), None)


def _names(home: GeneratedHome) -> Iterator[Case]:
    """Devices by name, each next to a look-alike: the kitchen light (and the kitchenette's), a lamp of two."""
    lights = [d for d in home.exposed if d.kind.domain == "light"]
    by_name = {d.name: d for d in lights}
    if (kitchen := by_name.get("Kitchen light")) and (kitchenette := by_name.get("Kitchenette light")):
        yield Case(f"turn on the {kitchen.name.lower()}", "name", {kitchen.entity_id: ON})
        yield Case(
            f"turn off the {kitchenette.name.lower()}",
            "name",
            {kitchenette.entity_id: OFF},
            given=(switched_on(kitchen), switched_on(kitchenette)),
        )
    if (desk := by_name.get("Office desk lamp")) and "Office floor lamp" in by_name:
        yield Case(f"switch on the {desk.name.lower()}", "name", {desk.entity_id: ON})
    if switch := _first(list(home.exposed), lambda d: d.kind.domain == "switch" and not d.aliases):
        yield Case(f"turn on the {switch.name.lower()}", "name", {switch.entity_id: ON})
    if lock := _first(list(home.exposed), lambda d: d.kind.domain == "lock" and not d.aliases):
        yield Case(f"unlock the {lock.name.lower()}", "name", {lock.entity_id: Expect("unlocked")})


def _aliases(home: GeneratedHome) -> Iterator[Case]:
    """Devices by an alias of theirs."""
    for device in home.exposed:
        if not device.aliases:
            continue
        alias, domain = device.aliases[0], device.kind.domain
        if domain == "lock":
            yield Case(f"unlock the {alias}", "alias", {device.entity_id: Expect("unlocked")})
        elif domain in ("light", "switch", "fan"):
            yield Case(f"turn on the {alias}", "alias", {device.entity_id: ON})


def _areas(home: GeneratedHome) -> Iterator[Case]:
    """All lights of an area with more than one, by its name; of an area by its alias; of a floor."""
    several = next((a for a in home.areas if len(home.in_area(a.name, "light")) > 1), None)
    if several:
        lights = home.in_area(several.name, "light")
        yield Case(f"turn on the lights in the {several.name.lower()}", "area", {d.entity_id: ON for d in lights})
    aliased = next((a for a in home.areas if a.aliases and home.in_area(a.name, "light")), None)
    if aliased:
        lights = home.in_area(aliased.name, "light")
        yield Case(
            f"turn off the lights in the {aliased.aliases[0]}",
            "area",
            {d.entity_id: OFF for d in lights},
            given=tuple(switched_on(d) for d in lights),
        )
    floor = home.floors[-1]
    on_floor = [d for a in home.areas if a.floor == floor.name for d in home.in_area(a.name, "light")][:2]
    if on_floor:
        # Only these are on: every other light of the floor stays off either way.
        yield Case(
            f"turn off the lights on the {floor.name.lower()}",
            "floor",
            {d.entity_id: OFF for d in on_floor},
            given=tuple(switched_on(d) for d in on_floor),
        )


def _sets(home: GeneratedHome) -> Iterator[Case]:
    """A brightness, a position, a fan speed and a temperature."""
    exposed = list(home.exposed)
    if light := _first(exposed, lambda d: d.kind.domain == "light"):
        yield Case(
            f"set the {light.name.lower()} to 40 percent", "set", {light.entity_id: Expect("on", {"brightness": 102})}
        )
    if cover := _first(exposed, lambda d: d.kind.domain == "cover" and d.kind.variant != "garage"):
        yield Case(
            f"set the {cover.name.lower()} to 50 percent",
            "set",
            {cover.entity_id: Expect("open", {"current_position": 50})},
        )
    if fan := _first(exposed, lambda d: d.kind.domain == "fan"):
        yield Case(
            f"set the {fan.name.lower()} to 50 percent", "set", {fan.entity_id: Expect("on", {"percentage": 50})}
        )
    if thermostat := _first(exposed, lambda d: d.kind.domain == "climate"):
        yield Case(
            f"set the {thermostat.name.lower()} to 23 degrees",
            "set",
            {thermostat.entity_id: Expect("heat", {"temperature": 23})},
        )


def _queries(home: GeneratedHome) -> Iterator[Case]:
    """Questions about a temperature, a humidity, a lock, a window and a light: nothing may change."""
    exposed = list(home.exposed)
    sensors = [d for d in exposed if d.kind.domain == "sensor"]
    for variant in ("temperature", "humidity"):
        sensor = next((d for d in sensors if d.kind.variant == variant), None)
        if sensor is not None and sensor.value is not None:
            yield Case(
                f"what is the {variant} in the {sensor.area.lower()}", "query", words=(_number_words(sensor.value),)
            )
    if lock := _first(exposed, lambda d: d.kind.domain == "lock"):
        yield Case(f"is the {lock.name.lower()} locked", "query", words=(("locked", "yes"),))
    if window := _first(exposed, lambda d: d.kind.variant == "window"):
        answer = ("open", "yes") if window.value else ("closed", "no")
        yield Case(f"is the {window.name.lower()} open", "query", words=(answer,))
    if light := _first(exposed, lambda d: d.kind.domain == "light"):
        yield Case(f"is the {light.name.lower()} on", "query", words=(("on", "yes"),), given=(switched_on(light),))


def _only(home: GeneratedHome, domain: str, test: Callable[[Device], bool] = lambda _: True) -> Device | None:
    """The device of an area that has exactly one of this domain (so an indirect request has one answer)."""
    for area in home.areas:
        devices = [d for d in home.in_area(area.name, domain) if test(d)]
        if len(devices) == 1 and len(home.in_area(area.name, domain)) == 1:
            return devices[0]
    return None


def _indirect(home: GeneratedHome) -> Iterator[Case]:
    """What a person says instead of a command, and an everyday word for a thermostat."""
    if light := _only(home, "light"):
        yield Case(f"it's too dark in the {light.area.lower()}", "indirect", {light.entity_id: ON})
    if fan := _only(home, "fan"):
        yield Case(f"it's too hot in the {fan.area.lower()}, get some air moving", "indirect", {fan.entity_id: ON})
    if cover := _only(home, "cover", lambda d: d.kind.variant != "garage"):
        yield Case(f"let some daylight into the {cover.area.lower()}", "indirect", {cover.entity_id: Expect("open")})
    if thermostat := _only(home, "climate"):
        off = ServiceCall("climate", "set_hvac_mode", {"entity_id": thermostat.entity_id, "hvac_mode": "off"})
        yield Case(
            f"turn on the heating in the {thermostat.area.lower()}",
            "everyday word",
            {thermostat.entity_id: Expect("heat")},
            given=(off,),
        )


def _scripts(home: GeneratedHome) -> Iterator[Case]:
    """A script by its name: the lights it switches off, on before."""
    if script := _first(list(home.exposed), lambda d: d.kind.domain == "script"):
        yield Case(
            f"run {script.name.lower()}",
            "script",
            dict.fromkeys(script.targets, OFF),
            given=tuple(switched_on(home.device(target)) for target in script.targets),
        )


CHIT_CHAT = (
    Case("tell me a joke", "chit-chat"),
    Case("what is the capital of France", "chit-chat", words=(("paris",),)),
    Case("thank you", "chit-chat"),
)


def _hidden(home: GeneratedHome) -> Iterator[Case]:
    """Each kind of device Assist does not see, asked for by its name: nothing may change."""
    seen: set[str] = set()
    for device in home.devices:
        if device.exposed or device.kind.domain in seen:
            continue
        seen.add(device.kind.domain)
        verb = "unlock" if device.kind.domain == "lock" else "turn on"
        yield Case(f"{verb} the {device.name.lower()}", "unexposed")


def home_commands(home: GeneratedHome) -> tuple[Case, ...]:
    """Every command for this home, in a fixed order."""
    return (
        *_names(home),
        *_aliases(home),
        *_areas(home),
        *_sets(home),
        *_queries(home),
        *_indirect(home),
        *_scripts(home),
        *CHIT_CHAT,
        *_hidden(home),
    )
