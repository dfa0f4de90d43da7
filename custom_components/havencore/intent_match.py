"""Home Assistant's own sentence matching, run in full once per turn: what it reads as a device or area that is not
exposed, and its fuzzy matches of exposed names, which HA's own agent acts on and the Assist pipeline's "prefer local
intents" does not."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hassil.models import UnmatchedTextEntity
from hassil.recognize import MISSING_ENTITY, RecognizeResult
from homeassistant.components import conversation
from homeassistant.components.conversation.agent_manager import get_agent_manager
from homeassistant.components.conversation.default_agent import METADATA_FUZZY_MATCH
from homeassistant.components.media_player.const import INTENT_MEDIA_SEARCH_AND_PLAY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent

from .action_guard import READ_ONLY_MARK, TARGET_SLOTS, RequestedTargets, all_words, intent_handler, words
from .vocabulary import ExposedEntity

# Longer "names" are phrases an open slot of HA's sentences swallowed, not a device someone named.
MAX_NAME_WORDS = 2
# Longer requests are not matched against HA's sentences (a command is a line, not a page).
MAX_MATCHED_CHARS = 300


@dataclass(frozen=True, slots=True)
class UnknownNames:
    """Device, area and floor names a request uses that are not exposed."""

    names: tuple[str, ...] = ()


async def async_recognize(hass: HomeAssistant, user_input: conversation.ConversationInput) -> RecognizeResult | None:
    """HA's full sentence matching of the request: exposed entities, then fuzzy, then every entity, then unknown
    names (a result whose names did not match).

    HA caches its stages per text, and a strict match run first would make it skip the rest: call this before
    ``async_handle_intents``, which then answers from the cache.
    """
    agent = get_agent_manager(hass).default_agent
    if agent is None:
        return None
    result = await agent.async_recognize_intent(user_input)
    return result if isinstance(result, RecognizeResult) else None


def _unmatched_texts(result: RecognizeResult) -> Iterator[tuple[str, str]]:
    """The slot and text of each slot HA's sentence matched to nothing it knows, e.g. ``("name", "back door")``."""
    for entity in result.unmatched_entities_list:
        if isinstance(entity, UnmatchedTextEntity) and entity.text != MISSING_ENTITY:
            yield entity.name, entity.text


def unknown_names(result: RecognizeResult | None, entities: Sequence[ExposedEntity]) -> UnknownNames:
    """The names HA's sentence matching found in the request but not among the exposed entities and areas, e.g.
    "back door" in "unlock the back door" (what HA's own agent answers "not aware of" for)."""
    # Open slots swallow whole phrases ("tell me {name}" takes "a joke about sheep", "{name} in the {area}" takes
    # "it's too dark"): such a reading of the request says nothing about the names in it.
    if result is None or _swallowed_phrase(result):
        return UnknownNames()
    known = [all_words((*entity.names, *entity.areas)) for entity in entities]
    # An open name slot HA matched to nothing is left to the model: a phrasing ("everything" in "switch off everything
    # in the kitchen", "blinds halfway") or an everyday word for a device ("heating" for the thermostat). The action
    # guard still keeps the model off devices the request does not name. Areas and floors HA does not know are places
    # the home does not have ("pantry" in "turn on the pantry light").
    names = [text.strip() for slot, text in _unmatched_texts(result) if slot in TARGET_SLOTS[1:] and text.strip()]
    # A match against every entity, exposed or not, names one that is not exposed.
    exposed = {name.casefold() for entity in entities for name in entity.names}
    if (name := result.entities.get("name")) and str(name.value).casefold() not in exposed:
        names.append(str(name.text or name.value).strip())
    # Part of an exposed entity's name and area ("thermostat" of "Living room thermostat") is a name a model may
    # resolve; only words that fit none of them name something else.
    names = [name for name in names if not any(words(name) <= entity_words for entity_words in known)]
    return UnknownNames(names=tuple(names))


def is_fuzzy(result: RecognizeResult) -> bool:
    """Whether the result is a guess of HA's fuzzy matching rather than one of its sentences."""
    return bool((result.intent_metadata or {}).get(METADATA_FUZZY_MATCH))


def reads_as_command(result: RecognizeResult) -> bool:
    """Whether HA's sentences read the request as an action: not a fuzzy guess, and no open slot swallowed a phrase.
    HA's loosest stage reads "How bright is the kitchen light?" as activating a scene named "kitchen light" in an area
    named "How bright is"."""
    return is_command(result) and not is_fuzzy(result) and not _swallowed_phrase(result)


def _swallowed_phrase(result: RecognizeResult) -> bool:
    """Whether an open slot of HA's sentence took a phrase rather than a name."""
    return any(len(words(text)) > MAX_NAME_WORDS for _, text in _unmatched_texts(result))


def is_registered(hass: HomeAssistant, result: RecognizeResult) -> bool:
    """Whether an intent handler for the result is registered: HA's sentences also match intents of integrations
    that are not set up ("what's the weather like" without a weather entity), which HA can only answer with an error."""
    return intent_handler(hass, result.intent.name) is not None


def is_command(result: RecognizeResult) -> bool:
    """Whether HA reads the request as an action (turn on, set, open...) rather than a question or a media search."""
    return READ_ONLY_MARK not in result.intent.name and result.intent.name != INTENT_MEDIA_SEARCH_AND_PLAY


async def async_handle_full_match(
    hass: HomeAssistant,
    match: RecognizeResult,
    user_input: conversation.ConversationInput,
    chat_log: conversation.ChatLog,
) -> intent.IntentResponse | None:
    """Runs a match of HA's full sentence matching as HA's own agent does; ``None`` when its names did not all match
    exposed ones, when it is a fuzzy match naming no device, area or floor (HA's fuzzy matching reads "tell me a
    joke" as asking the time), or when HA found nothing to act on for a request that is not a command: those go to
    the model, like a failed strict match. So does a command HA cannot resolve ("no light in the Garage area is
    exposed"): only a successful match is answered here, and the model may know what the user meant.
    """
    agent = get_agent_manager(hass).default_agent
    if agent is None or match.unmatched_entities or (is_fuzzy(match) and not match.entities.keys() & set(TARGET_SLOTS)):
        return None
    # HA's own handling of a recognized sentence (pinned HA version): slots, the intent, its response template.
    response = await agent._async_process_intent_result(match, user_input, chat_log)
    if response.response_type is not intent.IntentResponseType.ERROR or response.error_code in (
        intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
        intent.IntentResponseErrorCode.UNKNOWN,
    ):
        return response
    return None


def fuzzy_target_refused(
    hass: HomeAssistant,
    user_input: conversation.ConversationInput,
    match: RecognizeResult,
    entities: list[ExposedEntity],
) -> bool:
    """Whether the action guard would refuse what a match of HA's full (fuzzy) matching targets."""
    arguments = {entity.name: entity.value for entity in match.entities_list}
    return RequestedTargets.of(hass, user_input.text, entities).refusal(arguments) is not None
