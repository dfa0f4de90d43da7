"""Stops an action whose target the user never mentioned, before it runs.

Small models sometimes pick a real but wrong device: asked for the (unexposed) garage light, one switched the living
room lamp. Tool grammars and enums cannot catch that, as the name is valid. Here an action's name, area or floor must
share a word with the request (a distinctive one: "light" in a home of several lights does not tell them apart), and
the request must not name only other areas; names HA's own sentence matching found but not among the exposed ones
(see ``intent_match``) rule out every other target. A refused call goes back to the model as an error, like any
failed call.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent, llm
from homeassistant.util.json import JsonObjectType

from .vocabulary import ExposedEntity

# The error of a refused call; the reply then says the device was not found among those the agent may control.
NOT_REQUESTED_ERROR = "TargetNotRequested"
# Intents that only read (HassGetState, HassClimateGetTemperature, HassGetWeather, ...) change nothing.
READ_ONLY_MARK = "Get"

# The error of a call whose arguments the intent's service cannot take together.
INVALID_ARGUMENTS_ERROR = "InvalidArguments"
# Slots an intent takes together that its service refuses together: a light's color and its color temperature.
EXCLUSIVE_SLOTS = {"HassLightSet": ("color", "temperature")}

# The intent slots that name a target.
TARGET_SLOTS = ("name", "area", "floor")

_WORD = re.compile(r"\w+")

# Everyday words for a domain's devices (folded as ``words`` folds them): where a home exposes one device of a domain,
# such a word tells it apart ("turn up the heating" with one thermostat). English, as HA's own default sentences.
DOMAIN_WORDS = {
    "climate": frozenset({"heating", "heat", "heater", "thermostat", "temperature", "warmer", "cooler", "cooling"}),
    "light": frozenset({"light", "lamp", "lighting"}),
    "cover": frozenset({"blind", "shade", "curtain", "shutter"}),
    "fan": frozenset({"fan", "ventilation"}),
    "lock": frozenset({"lock"}),
    "media_player": frozenset({"tv", "television", "music", "speaker"}),
    "vacuum": frozenset({"vacuum", "hoover"}),
}


def words(text: str) -> set[str]:
    """The words of a text, lowercase, plurals folded in the simplest way ("lights" and "light" are one word)."""
    return {_fold(word) for word in _WORD.findall(text.lower())}


def _fold(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def all_words(texts: Iterable[str]) -> set[str]:
    """The words of all the texts."""
    return {word for text in texts for word in words(text)}


@dataclass(frozen=True, slots=True)
class RequestedTargets:
    """What one request names, judged against the exposed home and every area HA knows."""

    # The request's words; the context's are the satellite's area (a request made there may mean it) and the previous
    # exchange's (a follow-up says "turn it off"): they may identify a target but never name another area.
    request: frozenset[str]
    context: frozenset[str]
    entities: tuple[ExposedEntity, ...]
    # Words naming an area (any area, exposed devices or not), and name words shared by several exposed entities.
    area_words: frozenset[str]
    common_words: frozenset[str]
    # Domains of which the home exposes exactly one entity.
    single_domains: frozenset[str] = frozenset()
    # Names and areas HA's own intent matching found in the request but not among the exposed ones, e.g. "back door".
    unknown: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        hass: HomeAssistant,
        request: str,
        entities: Sequence[ExposedEntity],
        *,
        earlier: Iterable[str] = (),
        satellite_area: str | None = None,
        unknown: Iterable[str] = (),
    ) -> RequestedTargets:
        """The guard for ``request`` in a home exposing ``entities``."""
        areas = ar.async_get(hass).async_list_areas()
        counts = Counter(word for entity in entities for word in all_words(entity.names))
        domains = Counter(entity.domain for entity in entities)
        return cls(
            request=frozenset(words(request)),
            context=frozenset(all_words([*earlier, satellite_area or ""])),
            entities=tuple(entities),
            area_words=frozenset(all_words(text for area in areas for text in (area.name, *area.aliases))),
            common_words=frozenset(word for word, count in counts.items() if count > 1),
            single_domains=frozenset(domain for domain, count in domains.items() if count == 1),
            unknown=tuple(unknown),
        )

    def refusal(self, arguments: dict[str, object], intent_domains: Iterable[str] = ()) -> str | None:
        """Why the call's target is not what the user asked for, or ``None`` when it may run; ``intent_domains`` are
        the domains the intent acts on (a fan's speed: ``fan``), whatever it targets.

        For example ``{"name": "Living room lamp"}`` for "turn on the garage light" is refused: no word of the lamp or
        its area is in the request, and "light" alone does not say which light.
        """
        mentioned = self.request | self.context
        target_words: set[str] = set()
        name = arguments.get("name")
        # A name no exposed entity has (a timer's or a list's own name) is left to the intent to judge.
        if named := [entity for entity in self.entities if isinstance(name, str) and name in entity.names]:
            if not self._mentions_entity(named, mentioned):
                return f"The user did not mention {name}."
            target_words |= all_words(text for entity in named for text in (*entity.names, *entity.areas))
        for slot in TARGET_SLOTS[1:]:
            if isinstance(place := arguments.get(slot), str):
                place_words = words(place)
                if not place_words & mentioned:
                    return f"The user did not mention the {slot} {place}."
                target_words |= place_words
        for text in self.unknown:
            if not words(text) <= target_words:
                return f"The user asked for {text}, which is not among the devices and areas you may control."
        device_classes = _domains(arguments.get("device_class"))
        kinds = all_words(device_classes)
        domains = _domains(arguments.get("domain")) or list(intent_domains)
        if not target_words and (domains or device_classes):
            # A whole domain or kind of device ("turn off all the lights"), or no target at all (HA then acts on every
            # device the intent applies to, "set the speed to 30 %" on every fan): the request must say the domain,
            # the kind of device ("garage" door) or a word of its devices.
            domain_words = (
                all_words(domains)
                | kinds
                | all_words(
                    text
                    for entity in self.entities
                    if entity.domain in domains or entity.device_class in device_classes
                    for text in entity.names
                )
            )
            if not domain_words & mentioned:
                return f"The user did not ask about {', '.join(domains or device_classes)}."
        # Naming rooms picks among them ("kitchen and bedroom off" may act on either, never on the living room); a
        # word the kind of device explains ("garage" of "open the garage door") names no room.
        if (named_areas := (self.request & self.area_words) - kinds) and not named_areas & target_words:
            return f"The user asked about {', '.join(sorted(named_areas))}, which this call does not target."
        return None

    def mentioned_entities(self, limit: int) -> list[ExposedEntity]:
        """Up to ``limit`` entities the request itself picks out by name or by naming their area."""
        return [entity for entity in self.entities if self._mentions_entity([entity], self.request)][:limit]

    def _mentions_entity(self, named: Sequence[ExposedEntity], mentioned: frozenset[str]) -> bool:
        """Whether the words have one that picks out one of these entities, or its whole name."""
        for entity in named:
            distinctive = (all_words(entity.names) - self.common_words) | all_words(entity.areas)
            if distinctive & mentioned:
                return True
            if any(words(name) <= mentioned for name in entity.names):
                return True
            if entity.domain in self.single_domains and DOMAIN_WORDS.get(entity.domain, frozenset()) & mentioned:
                return True
        return False


def _domains(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def intent_handler(hass: HomeAssistant, intent_type: str) -> intent.IntentHandler | None:
    """The handler registered for an intent, if any."""
    return next((handler for handler in intent.async_get(hass) if handler.intent_type == intent_type), None)


class GuardedIntentTool(llm.Tool):
    """An intent tool that refuses targets the request does not mention; the same name, description and schema, so
    the prompt's bytes do not change."""

    def __init__(self, tool: llm.Tool, targets: RequestedTargets) -> None:
        self.name = tool.name
        self.description = tool.description
        self.parameters = tool.parameters
        self._tool = tool
        self._targets = targets

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> JsonObjectType:
        """The intent's result, or an error the model reads before it may try once more."""
        if len(clash := [slot for slot in EXCLUSIVE_SLOTS.get(self.name, ()) if slot in tool_input.tool_args]) > 1:
            # The intent's schema accepts them together and its service then fails in a task no one awaits.
            return {"error": INVALID_ARGUMENTS_ERROR, "error_text": f"Not done. Give only one of {', '.join(clash)}."}
        handler = intent_handler(hass, self.name)
        intent_domains = (handler.platforms if handler else None) or ()
        if reason := self._targets.refusal(dict(tool_input.tool_args), intent_domains):
            return {
                "error": NOT_REQUESTED_ERROR,
                "error_text": f"Not done. {reason} Only act on a device or area the user named; if none of the "
                "exposed devices fits, tell the user so.",
            }
        return await self._tool.async_call(hass, tool_input, llm_context)


def with_action_guard(api: llm.APIInstance, targets: RequestedTargets) -> llm.APIInstance:
    """The API with each intent tool that acts guarded by what the request mentions."""
    tools = [
        GuardedIntentTool(tool, targets)
        if isinstance(tool, llm.IntentTool) and READ_ONLY_MARK not in tool.name
        else tool
        for tool in api.tools
    ]
    return replace(api, tools=tools)


def requested_targets(
    hass: HomeAssistant,
    user_input: conversation.ConversationInput,
    chat_log: conversation.ChatLog,
    entities: Sequence[ExposedEntity],
    unknown: Sequence[str],
) -> RequestedTargets:
    """The guard for this turn: its request, the exchange before it, the satellite's area, and the ``unknown``
    names (see ``intent_match.unknown_names``)."""
    return RequestedTargets.of(
        hass,
        user_input.text,
        entities,
        earlier=_previous_exchange(chat_log),
        satellite_area=_satellite_area(hass, user_input.device_id),
        unknown=unknown,
    )


def _previous_exchange(chat_log: conversation.ChatLog) -> list[str]:
    """The user's message before this turn's and the replies to it."""
    users = [index for index, content in enumerate(chat_log.content) if isinstance(content, conversation.UserContent)]
    if len(users) < 2:
        return []
    return [
        content.content
        for content in chat_log.content[users[-2] : users[-1]]
        if isinstance(content, (conversation.UserContent, conversation.AssistantContent)) and content.content
    ]


def _satellite_area(hass: HomeAssistant, device_id: str | None) -> str | None:
    if device_id and (device := dr.async_get(hass).async_get(device_id)) and device.area_id:
        area = ar.async_get(hass).async_get_area(device.area_id)
        return area.name if area else None
    return None
