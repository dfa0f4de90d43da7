"""The names, areas and floors exposed to Assist: tool arguments are limited to them so models cannot invent any."""

from __future__ import annotations

from collections.abc import Iterable
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


@dataclass(frozen=True, slots=True)
class ExposedEntity:
    """One entity exposed to Assist, described as HA's Assist API describes it to a model."""

    entity_id: str
    # The friendly name first, then the registry aliases.
    names: tuple[str, ...]
    domain: str
    # The entity's (or its device's) area name first, then the area's aliases.
    areas: tuple[str, ...]
    floors: tuple[str, ...]
    device_class: str | None

    def overview(self) -> dict[str, str]:
        """HA's static-context entry, e.g. ``{"names": "Kitchen light", "domain": "light", "areas": "Kitchen"}``."""
        item = {"names": ", ".join(self.names), "domain": self.domain}
        if self.areas:
            item["areas"] = ", ".join(self.areas)
        return item

    def description(self) -> str:
        """What retrieval embeds: names, areas and domain in one line, e.g. ``Kitchen light, Kitchen, light``."""
        return ", ".join((*self.names, *self.areas, self.domain))


@callback
def async_exposed_entities(hass: HomeAssistant) -> list[ExposedEntity]:
    """The entities currently exposed to Assist, ordered by name like HA's static context."""
    entities, devices = er.async_get(hass), dr.async_get(hass)
    areas, floors = ar.async_get(hass), fr.async_get(hass)
    exposed: list[ExposedEntity] = []
    for state in sorted(hass.states.async_all(), key=lambda state: state.name):
        if not async_should_expose(hass, ASSISTANT, state.entity_id):
            continue
        names = [state.name]
        area_names: list[str] = []
        floor_names: list[str] = []
        if entry := entities.async_get(state.entity_id):
            names.extend(alias for alias in entry.aliases if isinstance(alias, str))
            area_id = entry.area_id
            if area_id is None and entry.device_id and (device := devices.async_get(entry.device_id)):
                area_id = device.area_id
            if area_id and (area := areas.async_get_area(area_id)):
                area_names = [area.name, *sorted(area.aliases)]
                if area.floor_id and (floor := floors.async_get_floor(area.floor_id)):
                    floor_names = [floor.name, *sorted(floor.aliases)]
        device_class = state.attributes.get("device_class")
        exposed.append(
            ExposedEntity(
                entity_id=state.entity_id,
                names=tuple(dict.fromkeys(names)),
                domain=state.domain,
                areas=tuple(area_names),
                floors=tuple(floor_names),
                device_class=device_class if isinstance(device_class, str) else None,
            )
        )
    return exposed


def vocabulary_of(named: Iterable[ExposedEntity], home: Iterable[ExposedEntity]) -> ExposedVocabulary:
    """Names of the ``named`` entities; areas, floors, domains and device classes of the whole ``home``."""
    home = list(home)
    return ExposedVocabulary(
        names=tuple(sorted({name for entity in named for name in entity.names})),
        areas=tuple(sorted({area for entity in home for area in entity.areas})),
        floors=tuple(sorted({floor for entity in home for floor in entity.floors})),
        domains=tuple(sorted({entity.domain for entity in home})),
        device_classes=tuple(sorted({entity.device_class for entity in home if entity.device_class})),
    )


def _narrowed(declared: Any, allowed: tuple[str, ...]) -> list[str]:
    """The allowed values, within the schema's own enum when it has one."""
    if isinstance(declared, list):
        return [value for value in allowed if value in declared] or list(allowed)
    return list(allowed)


# Slots whose values grow with the home: the prompt's tools leave them open (the home context names them) and the
# values go to the decoding grammar only, which costs no context (``tool_argument_values``).
GRAMMAR_ONLY_SLOTS = ("name", "area", "floor")


def constrain_parameters(parameters: dict[str, Any], vocabulary: ExposedVocabulary) -> dict[str, Any]:
    """A tool's JSON schema as the prompt shows it: slots nothing in the home could fill are removed, and the domain
    and device class slots are limited to the home's (a few values whatever its size); names, areas and floors stay
    open, see ``argument_values``.

    For example ``{"properties": {"floor": {"type": "string"}}}`` loses ``floor`` in a home without floors, and
    ``domain`` becomes ``{"type": "array", "items": {"type": "string", "enum": ["light", "switch"]}}``.
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
        elif slot in GRAMMAR_ONLY_SLOTS:
            continue
        elif schema.get("type") == "string":
            constrained[slot] = {**schema, "enum": _narrowed(schema.get("enum"), allowed)}
        elif schema.get("type") == "array" and isinstance(items := schema.get("items"), dict):
            constrained[slot] = {**schema, "items": {**items, "enum": _narrowed(items.get("enum"), allowed)}}
    result = {**parameters, "properties": constrained}
    if removed and isinstance(parameters.get("required"), list):
        result["required"] = [slot for slot in parameters["required"] if slot not in removed]
    return result


def argument_values(vocabulary: ExposedVocabulary) -> dict[str, list[str]]:
    """The names, areas and floors a tool call may use, for the backend's decoding grammar only (the request's
    ``tool_argument_values``): a small model cannot invent a target, and the prompt does not grow with the home."""
    return {slot: list(values) for slot in GRAMMAR_ONLY_SLOTS if (values := vocabulary.for_slot(slot))}
