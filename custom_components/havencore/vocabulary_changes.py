"""Notices when what ``async_exposed_entities`` reads from the registries changes: an entity, device, area or floor
renamed, given aliases, moved or removed, or an entity added.

Which entities are exposed is told by HA's own ``async_listen_entity_updates``; these changes are the rest of what the
entity overview and the tools' enums are made of.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr

from .vocabulary import ASSISTANT

# Registry fields that names, areas and device classes of exposed entities are read from.
_ENTITY_FIELDS = frozenset(
    {"aliases", "area_id", "device_class", "device_id", "entity_id", "name", "original_device_class", "original_name"}
)
_DEVICE_FIELDS = frozenset({"area_id", "name", "name_by_user"})


@callback
def _entity_fields_changed(data: er.EventEntityRegistryUpdatedData) -> bool:
    return data["action"] != "update" or not _ENTITY_FIELDS.isdisjoint(data["changes"])


@callback
def _device_changed(data: dr.EventDeviceRegistryUpdatedData) -> bool:
    # A new device has no entities yet; a removed one's entities are removed with it.
    return data["action"] == "update" and not _DEVICE_FIELDS.isdisjoint(data["changes"])


@callback
def _area_or_floor_changed(data: ar.EventAreaRegistryUpdatedData | fr.EventFloorRegistryUpdatedData) -> bool:
    # A new area or floor has nothing in it yet; the order of either is not in the prompt.
    return data["action"] in ("update", "remove")


@callback
def async_listen_vocabulary_changes(hass: HomeAssistant, listener: Callable[[], None]) -> CALLBACK_TYPE:
    """Calls ``listener`` after each such change that may concern an exposed entity; returns the function that
    stops listening."""

    @callback
    def _changed(_event: Event[Any]) -> None:
        listener()

    @callback
    def _entity_changed(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        # New entities of domains Assist does not get by default, like this integration's own, change nothing.
        if event.data["action"] == "remove" or async_should_expose(hass, ASSISTANT, event.data["entity_id"]):
            listener()

    unsubscribes = [
        hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _entity_changed, event_filter=_entity_fields_changed),
        hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, _changed, event_filter=_device_changed),
        hass.bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, _changed, event_filter=_area_or_floor_changed),
        hass.bus.async_listen(fr.EVENT_FLOOR_REGISTRY_UPDATED, _changed, event_filter=_area_or_floor_changed),
    ]

    @callback
    def _unsubscribe() -> None:
        for unsubscribe in unsubscribes:
            unsubscribe()

    return _unsubscribe
