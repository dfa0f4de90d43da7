"""What the demo home is made of: Home Assistant's configuration.yaml with its demo entities, and their areas."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The integrations a stock ``default_config`` brings that work offline; the rest (cloud, go2rtc, zeroconf, ...)
# would reach for the network or for hardware on every boot.
OFFLINE_INTEGRATIONS = (
    "api",
    "assist_pipeline",
    "config",
    "conversation",
    "ffmpeg",
    "frontend",
    "history",
    "input_boolean",
    "input_number",
    "input_text",
    "intent",
    "logbook",
    "person",
    "script",
    "stt",
    "tts",
    "websocket_api",
)


# The demo's areas by id; onboarding makes the first three, and the demo creates any that are missing.
AREAS = {"kitchen": "Kitchen", "living_room": "Living Room", "bedroom": "Bedroom", "garage": "Garage"}


@dataclass(frozen=True, slots=True)
class DemoEntity:
    """An entity of the demo home: the area it is in, and whether Assist may see it."""

    entity_id: str
    area_id: str
    exposed: bool = True


DEMO_ENTITIES = (
    DemoEntity("light.kitchen_light", "kitchen"),
    DemoEntity("light.living_room_lamp", "living_room"),
    DemoEntity("light.bedroom_light", "bedroom"),
    DemoEntity("climate.living_room_thermostat", "living_room"),
    DemoEntity("sensor.living_room_temperature", "living_room"),
    DemoEntity("lock.front_door", "living_room"),
    DemoEntity("cover.bedroom_blinds", "bedroom"),
    DemoEntity("fan.bedroom_fan", "bedroom"),
    # Not shown to Assist: what no agent may touch when asked about it.
    DemoEntity("light.garage_light", "garage", exposed=False),
)
DIMMABLE_LIGHTS = ("kitchen_light", "living_room_lamp", "bedroom_light", "garage_light")

# The helpers behind the template entities: switched by the entities, never by Assist directly.
HELPER_ENTITIES = tuple(
    DemoEntity(f"input_boolean.{key}", "", exposed=False)
    for key in (
        "kitchen_light_power",
        "living_room_lamp_power",
        "bedroom_light_power",
        "heater",
        "front_door_locked",
        "bedroom_blinds_open",
        "garage_light_power",
        "bedroom_fan_power",
    )
)

# Onboarding steps other than the user: done before the first boot, because the core-config step would set up
# integrations that need the internet (weather, radio, cloud TTS).
_PRESET_ONBOARDING_STEPS = ("core_config", "analytics", "integration")


def _toggle(entity_id: str, on: str, off: str) -> dict[str, object]:
    """The two actions of a template entity that switches an input boolean."""
    return {
        on: {"action": "input_boolean.turn_on", "target": {"entity_id": entity_id}},
        off: {"action": "input_boolean.turn_off", "target": {"entity_id": entity_id}},
    }


def _light(key: str, name: str) -> dict[str, object]:
    """A dimmable light: on/off in an input boolean, brightness (0-255) in an input number."""
    power, level = f"input_boolean.{key}_power", f"input_number.{key}_level"
    return {
        "name": name,
        "unique_id": f"havencore_demo_{key}",
        "state": f"{{{{ is_state('{power}', 'on') }}}}",
        "level": f"{{{{ states('{level}') | int }}}}",
        **_toggle(power, "turn_on", "turn_off"),
        "set_level": [
            {"action": "input_number.set_value", "target": {"entity_id": level}, "data": {"value": "{{ brightness }}"}},
            {"action": "input_boolean.turn_on", "target": {"entity_id": power}},
        ],
    }


def _fan(key: str, name: str) -> dict[str, object]:
    """A fan: on/off in an input boolean, speed (percent) in an input number."""
    power, speed = f"input_boolean.{key}_power", f"input_number.{key}_speed"
    return {
        "name": name,
        "unique_id": f"havencore_demo_{key}",
        "state": f"{{{{ is_state('{power}', 'on') }}}}",
        "percentage": f"{{{{ states('{speed}') | int if is_state('{power}', 'on') else 0 }}}}",
        **_toggle(power, "turn_on", "turn_off"),
        "set_percentage": [
            {"action": "input_number.set_value", "target": {"entity_id": speed}, "data": {"value": "{{ percentage }}"}},
            {
                "action": "input_boolean.turn_{{ 'on' if percentage > 0 else 'off' }}",
                "target": {"entity_id": power},
            },
        ],
    }


def configuration(http_port: int) -> dict[str, object]:
    """Home Assistant's configuration: offline integrations, HTTP on loopback, and the demo entities."""
    config: dict[str, object] = dict.fromkeys(OFFLINE_INTEGRATIONS)
    config["homeassistant"] = {
        "name": "HavenCore demo home",
        "latitude": 52.37,
        "longitude": 4.89,
        "elevation": 0,
        "unit_system": "metric",
        "time_zone": "UTC",
        "country": "NL",
        "currency": "EUR",
    }
    config["http"] = {"server_host": "127.0.0.1", "server_port": http_port}
    config["automation"] = "!include automations.yaml"
    config["input_boolean"] = {entity.entity_id.split(".", 1)[1]: {} for entity in HELPER_ENTITIES}
    config["input_number"] = {
        "living_room_temperature": {"min": 5, "max": 35, "step": 0.5, "initial": 19.5, "unit_of_measurement": "°C"},
        **{f"{key}_level": {"min": 0, "max": 255, "step": 1, "initial": 255} for key in DIMMABLE_LIGHTS},
        "bedroom_fan_speed": {"min": 0, "max": 100, "step": 1, "initial": 100},
    }
    config["template"] = [
        {
            "light": [
                _light("kitchen_light", "Kitchen Light"),
                _light("living_room_lamp", "Living Room Lamp"),
                _light("bedroom_light", "Bedroom Light"),
                _light("garage_light", "Garage Light"),
            ],
            "fan": [_fan("bedroom_fan", "Bedroom Fan")],
            "sensor": [
                {
                    "name": "Living Room Temperature",
                    "unique_id": "havencore_demo_living_room_temperature",
                    "unit_of_measurement": "°C",
                    "device_class": "temperature",
                    "state_class": "measurement",
                    "state": "{{ states('input_number.living_room_temperature') }}",
                }
            ],
            "lock": [
                {
                    "name": "Front Door",
                    "unique_id": "havencore_demo_front_door",
                    "state": "{{ is_state('input_boolean.front_door_locked', 'on') }}",
                    **_toggle("input_boolean.front_door_locked", "lock", "unlock"),
                }
            ],
            "cover": [
                {
                    "name": "Bedroom Blinds",
                    "unique_id": "havencore_demo_bedroom_blinds",
                    "device_class": "blind",
                    "state": "{{ 'open' if is_state('input_boolean.bedroom_blinds_open', 'on') else 'closed' }}",
                    **_toggle("input_boolean.bedroom_blinds_open", "open_cover", "close_cover"),
                }
            ],
        }
    ]
    config["climate"] = [
        {
            "platform": "generic_thermostat",
            "name": "Living Room Thermostat",
            "unique_id": "havencore_demo_living_room_thermostat",
            "heater": "input_boolean.heater",
            "target_sensor": "sensor.living_room_temperature",
            "target_temp": 21,
        }
    ]
    return config


def write_config_dir(config_dir: Path, http_port: int, integration_source: Path) -> None:
    """Writes configuration.yaml, links the HavenCore integration in, and presets onboarding on the first run."""
    config_dir.mkdir(parents=True, exist_ok=True)
    # JSON is YAML; only the !include tag must stay unquoted for Home Assistant's loader.
    text = json.dumps(configuration(http_port), indent=2, ensure_ascii=False)
    text = text.replace('"!include automations.yaml"', "!include automations.yaml")
    (config_dir / "configuration.yaml").write_text(text + "\n", encoding="utf-8")
    automations = config_dir / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n", encoding="utf-8")
    link = config_dir / "custom_components" / "havencore"
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink() or link.resolve() != integration_source.resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(integration_source.resolve(), target_is_directory=True)
    onboarding = config_dir / ".storage" / "onboarding"
    if not onboarding.exists():
        onboarding.parent.mkdir(exist_ok=True)
        done = list(_PRESET_ONBOARDING_STEPS)
        store = {"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": done}}
        onboarding.write_text(json.dumps(store), encoding="utf-8")
