"""The names, areas and floors exposed to Assist: tool arguments are limited to them so models cannot invent any."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr

ASSISTANT = "conversation"


@dataclass(frozen=True, slots=True)
class ExposedVocabulary:
    """What a tool call may name: exposed entities' names and aliases, their areas and floors."""

    names: tuple[str, ...]
    areas: tuple[str, ...]
    floors: tuple[str, ...]
    domains: tuple[str, ...]
    device_classes: tuple[str, ...]

    def for_slot(self, slot: str) -> tuple[str, ...] | None:
        """The allowed values of an intent slot, or ``None`` for slots this vocabulary does not cover."""
        return {
            "name": self.names,
            "area": self.areas,
            "floor": self.floors,
            "domain": self.domains,
            "device_class": self.device_classes,
        }.get(slot)


@callback
def async_exposed_vocabulary(hass: HomeAssistant) -> ExposedVocabulary:
    """Collects the vocabulary from the entities currently exposed to Assist."""
    entities, devices = er.async_get(hass), dr.async_get(hass)
    areas, floors = ar.async_get(hass), fr.async_get(hass)
    names: set[str] = set()
    area_names: set[str] = set()
    floor_names: set[str] = set()
    domains: set[str] = set()
    device_classes: set[str] = set()
    for state in hass.states.async_all():
        if not async_should_expose(hass, ASSISTANT, state.entity_id):
            continue
        names.add(state.name)
        domains.add(state.domain)
        if isinstance(device_class := state.attributes.get("device_class"), str):
            device_classes.add(device_class)
        entry = entities.async_get(state.entity_id)
        if entry is None:
            continue
        names.update(alias for alias in entry.aliases if isinstance(alias, str))
        area_id = entry.area_id
        if area_id is None and entry.device_id and (device := devices.async_get(entry.device_id)):
            area_id = device.area_id
        if area_id and (area := areas.async_get_area(area_id)):
            area_names.add(area.name)
            area_names.update(area.aliases)
            if area.floor_id and (floor := floors.async_get_floor(area.floor_id)):
                floor_names.add(floor.name)
                floor_names.update(floor.aliases)
    return ExposedVocabulary(
        names=tuple(sorted(names)),
        areas=tuple(sorted(area_names)),
        floors=tuple(sorted(floor_names)),
        domains=tuple(sorted(domains)),
        device_classes=tuple(sorted(device_classes)),
    )


def _narrowed(declared: Any, allowed: tuple[str, ...]) -> list[str]:
    """The allowed values, within the schema's own enum when it has one."""
    if isinstance(declared, list):
        return [value for value in allowed if value in declared] or list(allowed)
    return list(allowed)


def constrain_parameters(parameters: dict[str, Any], vocabulary: ExposedVocabulary) -> dict[str, Any]:
    """A tool's JSON schema with its target slots limited to what is exposed; slots nothing could fill are removed.

    For example ``{"properties": {"floor": {"type": "string"}}}`` loses ``floor`` in a home without floors, and
    ``name`` becomes ``{"type": "string", "enum": ["Kitchen light", ...]}``.
    """
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return parameters
    constrained = dict(properties)
    removed: set[str] = set()
    for slot, schema in properties.items():
        allowed = vocabulary.for_slot(slot)
        if allowed is None or not isinstance(schema, dict):
            continue
        if not allowed:
            del constrained[slot]
            removed.add(slot)
        elif schema.get("type") == "string":
            constrained[slot] = {**schema, "enum": _narrowed(schema.get("enum"), allowed)}
        elif schema.get("type") == "array" and isinstance(items := schema.get("items"), dict):
            constrained[slot] = {**schema, "items": {**items, "enum": _narrowed(items.get("enum"), allowed)}}
    result = {**parameters, "properties": constrained}
    if removed and isinstance(parameters.get("required"), list):
        result["required"] = [slot for slot in parameters["required"] if slot not in removed]
    return result
