"""HA's ``GetLiveContext`` tool limited to the entities retrieved for the request, so asking about states in a big
home does not pour every exposed entity into the next prompt."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
from homeassistant.util import yaml as yaml_util
from homeassistant.util.json import JsonObjectType

from .vocabulary import ASSISTANT, ExposedEntity

LIVE_CONTEXT_HEADER = "Live Context: An overview of the areas and the devices in this smart home:"


class RetrievedLiveContextTool(llm.GetLiveContextTool):
    """Same name, description and answer format as HA's tool (the prompt bytes do not change), fewer entities."""

    def __init__(self, entities: Sequence[ExposedEntity]) -> None:
        self._entity_ids = frozenset(entity.entity_id for entity in entities)

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> JsonObjectType:
        """The live states of the retrieved entities, e.g. ``{"success": True, "result": "Live Context: ...\\n-
        names: Garage aquarium pump\\n  domain: input_boolean\\n  state: 'off'\\n"}``."""
        return {"success": True, "result": live_context(hass, self._entity_ids)}


def live_context(hass: HomeAssistant, entity_ids: Collection[str], header: str = LIVE_CONTEXT_HEADER) -> str:
    """HA's live context (states and the attributes Assist shows) of these exposed entities, under ``header``."""
    # HA's own description of each entity's state (pinned HA version), filtered to the entities asked for; they
    # are exposed to Assist, as those of retrieval and of the action guard are.
    exposed = llm._get_exposed_entities(hass, ASSISTANT)["entities"]
    entries = [info for entity_id, info in exposed.items() if entity_id in entity_ids]
    return "\n".join([header, yaml_util.dump(entries)])


def with_retrieved_live_context(api: llm.APIInstance, entities: Sequence[ExposedEntity]) -> llm.APIInstance:
    """The API with its ``GetLiveContext`` tool answering only for ``entities``."""
    tools = [
        RetrievedLiveContextTool(entities) if isinstance(tool, llm.GetLiveContextTool) else tool for tool in api.tools
    ]
    return replace(api, tools=tools)
