"""The home commands ``bench.eval_commands`` runs against the demo home, each with what must happen.

A case is right when every expected entity ends in the expected state (and attributes), nothing else changed, and
the reply holds one word of each expected word group. Cases that expect nothing (chit-chat, questions, requests about
what Assist cannot see) are right when no state changed and the words are there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Domains whose state or listed attributes an action changes; a change anywhere else is not an action.
COMPARED_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "light": ("brightness",),
    "fan": ("percentage",),
    "cover": ("current_position",),
    "lock": (),
    "climate": ("temperature", "hvac_mode"),
    "switch": (),
    "media_player": ("volume_level",),
    "valve": (),
    "vacuum": (),
    "humidifier": ("humidity",),
    "water_heater": ("temperature",),
}
# How far a numeric attribute may be from the expected value: brightness (0-255) from a percentage rounds; a
# temperature or a percentage must be what was asked.
NUMERIC_TOLERANCE: Mapping[str, float] = {"brightness": 3.0}
DEFAULT_NUMERIC_TOLERANCE = 0.5


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """An action the harness runs itself, e.g. to set a case's starting state."""

    domain: str
    service: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Expect:
    """The state an entity must end in, and attribute values (numbers within their ``NUMERIC_TOLERANCE``)."""

    state: str | None = None
    attributes: Mapping[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Case:
    """One command: its text, its kind, the starting state on top of the reset, what must change and be said."""

    text: str
    kind: str
    expect: Mapping[str, Expect] = field(default_factory=dict)
    words: tuple[tuple[str, ...], ...] = ()  # each group: one of these (case-insensitive) must be in the reply
    given: tuple[ServiceCall, ...] = ()


def _power(key: str, on: bool = True) -> ServiceCall:
    return ServiceCall("input_boolean", "turn_on" if on else "turn_off", {"entity_id": f"input_boolean.{key}"})


def _number(key: str, value: float) -> ServiceCall:
    return ServiceCall("input_number", "set_value", {"entity_id": f"input_number.{key}", "value": value})


# The demo home's state before every case: lights and fan off at full level, door locked, blinds closed, heating
# to 21 °C with 19.5 °C measured.
DEMO_RESET: tuple[ServiceCall, ...] = (
    *(_power(f"{key}_power", on=False) for key in ("kitchen_light", "living_room_lamp", "bedroom_light")),
    _power("garage_light_power", on=False),
    _power("bedroom_fan_power", on=False),
    _power("bedroom_blinds_open", on=False),
    _power("front_door_locked"),
    *(_number(f"{key}_level", 255) for key in ("kitchen_light", "living_room_lamp", "bedroom_light", "garage_light")),
    _number("bedroom_fan_speed", 100),
    _number("living_room_temperature", 19.5),
    ServiceCall("climate", "set_hvac_mode", {"entity_id": "climate.living_room_thermostat", "hvac_mode": "heat"}),
    ServiceCall("climate", "set_temperature", {"entity_id": "climate.living_room_thermostat", "temperature": 21}),
)

KITCHEN, LAMP, BEDROOM = "light.kitchen_light", "light.living_room_lamp", "light.bedroom_light"
THERMOSTAT, BLINDS, DOOR, FAN = (
    "climate.living_room_thermostat",
    "cover.bedroom_blinds",
    "lock.front_door",
    "fan.bedroom_fan",
)
ON, OFF = Expect("on"), Expect("off")


def _brightness(percent: int) -> Expect:
    return Expect("on", {"brightness": round(255 * percent / 100)})


def _target(degrees: float) -> Expect:
    return Expect("heat", {"temperature": degrees})


DEMO_SUITE: tuple[Case, ...] = (
    # Names and areas
    Case("turn on the kitchen light", "on/off", {KITCHEN: ON}),
    Case("turn off the kitchen light", "on/off", {KITCHEN: OFF}, given=(_power("kitchen_light_power"),)),
    Case("switch on the bedroom light", "on/off", {BEDROOM: ON}),
    Case("turn on the living room lamp", "on/off", {LAMP: ON}),
    Case("turn on the lights in the kitchen", "area", {KITCHEN: ON}),
    Case("turn off the lights in the bedroom", "area", {BEDROOM: OFF}, given=(_power("bedroom_light_power"),)),
    Case("turn on the lights in the living room", "area", {LAMP: ON}),
    Case(
        "turn off all the lights",
        "area",
        {KITCHEN: OFF, BEDROOM: OFF},
        given=(_power("kitchen_light_power"), _power("bedroom_light_power")),
    ),
    # Brightness
    Case("set the kitchen light to 50 percent", "brightness", {KITCHEN: _brightness(50)}),
    Case("dim the bedroom light to 20%", "brightness", {BEDROOM: _brightness(20)}),
    Case("set the living room lamp brightness to 80%", "brightness", {LAMP: _brightness(80)}),
    Case(
        "set the kitchen light brightness to 100 percent",
        "brightness",
        {KITCHEN: _brightness(100)},
        given=(_number("kitchen_light_level", 128), _power("kitchen_light_power")),
    ),
    # Temperatures
    Case("set the thermostat to 22 degrees", "temperature", {THERMOSTAT: _target(22)}),
    Case("set the living room temperature to 19 degrees", "temperature", {THERMOSTAT: _target(19)}),
    Case("set the living room thermostat to 23", "temperature", {THERMOSTAT: _target(23)}),
    # Covers, locks, fans
    Case("open the bedroom blinds", "cover", {BLINDS: Expect("open")}),
    Case("close the bedroom blinds", "cover", {BLINDS: Expect("closed")}, given=(_power("bedroom_blinds_open"),)),
    Case("open the blinds", "cover", {BLINDS: Expect("open")}),
    Case("unlock the front door", "lock", {DOOR: Expect("unlocked")}),
    Case("lock the front door", "lock", {DOOR: Expect("locked")}, given=(_power("front_door_locked", on=False),)),
    Case("turn on the bedroom fan", "fan", {FAN: ON}),
    Case("turn off the fan", "fan", {FAN: OFF}, given=(_power("bedroom_fan_power"),)),
    Case("set the bedroom fan to 50 percent", "fan", {FAN: Expect("on", {"percentage": 50})}),
    # Questions about states: nothing may change
    Case("what is the temperature in the living room", "query", words=(("19.5", "19,5"),)),
    Case("is the front door locked", "query", words=(("locked", "yes"),)),
    Case("is the kitchen light on", "query", words=(("on", "yes"),), given=(_power("kitchen_light_power"),)),
    Case("are the bedroom blinds open", "query", words=(("closed", "no"),)),
    Case("what is the thermostat set to", "query", words=(("21",),)),
    Case("which lights are on", "query", words=(("lamp",),), given=(_power("living_room_lamp_power"),)),
    # Indirect requests
    Case("it's too dark in the kitchen", "indirect", {KITCHEN: ON}),
    Case("I can't see anything in the bedroom", "indirect", {BEDROOM: ON}),
    Case("it's too hot in the bedroom, get some air moving", "indirect", {FAN: ON}),
    Case("let some daylight into the bedroom", "indirect", {BLINDS: Expect("open")}),
    # Chit-chat: must not act
    Case("tell me a joke", "chit-chat"),
    Case("what is the capital of France", "chit-chat", words=(("paris",),)),
    Case("hello, how are you", "chit-chat"),
    Case("thank you", "chit-chat"),
    # What Assist cannot see (the garage light is not exposed) or what does not exist: must not act
    Case("turn on the garage light", "unexposed"),
    Case("set the garage light to 50 percent", "unexposed"),
    Case("open the garage door", "unexposed"),
    Case("turn off the bathroom light", "unexposed", given=(_power("kitchen_light_power"),)),
    Case("unlock the back door", "unexposed"),
)
