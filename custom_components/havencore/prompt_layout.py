"""The order of what HavenCore sends: a prefix that stays byte-identical, so the engine reuses its cached
prefill across turns and conversations, and everything that changes per turn at the end.

HA's chat log puts the user's name, the satellite's area and (without a date/time tool) the clock into the system
prompt, which makes every turn's prompt differ from its first tokens. Here the system message holds only the
instructions, Assist's fixed rules and the static entity overview; a short context message right before the latest
user message carries the rest.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm, template
from homeassistant.util import yaml as yaml_util

from .vocabulary import ExposedEntity

STATIC_CONTEXT_HEADER = "Static Context: An overview of the areas and the devices in this smart home:"
AREAS_HEADER = "Areas of this smart home (the devices of each are listed per request):"
DATE_LINE = "Today's date is {date}."
CLOCK_LINE = "Current time is {time}."
# What the model is told of a tool it is offered, after the API's own rules: given "turn on the kitchen light", the
# 0.5B model called HassLightSet with made-up values at 8 of 12 clock times, and HassTurnOn at all 12 with this.
TOOL_RULES = {
    "HassLightSet": "To switch a light on or off use HassTurnOn or HassTurnOff; HassLightSet only sets a brightness "
    "or color the user asks for.",
}
# Lines of the prompt that no reply of the assistant's should contain: a reply with one echoes the prompt (the last
# two are Assist's live-context rule, which the 0.5B model once answered "Yes, I am equipped to ..." with).
PROMPT_MARKERS = (
    "Static Context:",
    "Live Context",
    CLOCK_LINE.split("{", 1)[0],
    "This is a primary function.",
    "Do not state you lack the",
)


@dataclass(frozen=True, slots=True)
class AssistPromptParts:
    """An LLM API's prompt split into what is the same for every turn and what depends on the satellite."""

    rules: str
    device_lines: tuple[str, ...]
    # Whether the API describes the exposed entities (Assist does, with the overview HavenCore now renders).
    lists_entities: bool


def split_api_prompt(api_prompt: str) -> AssistPromptParts:
    """Splits Assist's prompt: its first line (how to call the intent tools) and its live-context rules are fixed;
    the lines between them name the satellite's area and timer support; the entity overview after them is dropped
    because HavenCore renders it (all entities, or only the retrieved ones).

    Assist's prompt looks like ``"When controlling Home Assistant always call the intent tools. ...\\nYou are in area
    Kitchen and all generic commands ...\\nThis device is not able to start timers.\\n" + DYNAMIC_CONTEXT_PROMPT +
    "\\nStatic Context: ...\\n- names: Kitchen light\\n  domain: light\\n"``; other APIs' prompts are kept whole.
    """
    head, marker, _overview = api_prompt.partition(llm.DYNAMIC_CONTEXT_PROMPT)
    if not marker:
        return AssistPromptParts(rules=api_prompt, device_lines=(), lists_entities=False)
    first, *device_lines = head.rstrip("\n").split("\n")
    return AssistPromptParts(
        rules=f"{first}\n{llm.DYNAMIC_CONTEXT_PROMPT}", device_lines=tuple(device_lines), lists_entities=True
    )


def entity_overview(entities: Sequence[ExposedEntity]) -> str:
    """The static context of HA's Assist API for these entities, e.g. ``"Static Context: ...\\n- names: ..."``."""
    return f"{STATIC_CONTEXT_HEADER}\n{yaml_util.dump([entity.overview() for entity in entities])}"


def areas_overview(entities: Sequence[ExposedEntity]) -> str:
    """Every area of the exposed entities and its floor, for a home too big to list: e.g. ``"Areas of this smart home:
    Kitchen (Ground floor), Office"``."""
    floors = {entity.areas[0]: entity.floors[0] if entity.floors else "" for entity in entities if entity.areas}
    areas = [f"{area} ({floor})" if floor else area for area, floor in sorted(floors.items())]
    return f"{AREAS_HEADER} {', '.join(areas)}" if areas else ""


@dataclass(frozen=True, slots=True)
class HomeContext:
    """What the prompt says of the home: every exposed entity in the cached system message, or (when they do not fit
    its share of the window) the areas there and the entities retrieved for each request in its turn context."""

    listed: Sequence[ExposedEntity] = ()
    areas: str = ""
    retrieved: Sequence[ExposedEntity] | None = None

    @property
    def named(self) -> Sequence[ExposedEntity]:
        """The entities whose names a tool call may use."""
        return self.listed if self.retrieved is None else self.retrieved


@dataclass(frozen=True, slots=True)
class PromptLayout:
    """The system message (identical for every turn of an agent) and the context of this turn, with a lean variant
    of that context (without memory and live states) for a request that must shed tokens."""

    system: str
    turn_context: str
    lean_turn_context: str

    def messages(self, history: list[dict[str, Any]], *, lean: bool = False) -> list[dict[str, Any]]:
        """The system message, the history, and this turn's context right before the latest user message.

        ``history`` is the chat without its system message, ending with the latest user message and whatever the
        model and tools added since.
        """
        latest_user = max((index for index, message in enumerate(history) if message["role"] == "user"), default=0)
        context = {"role": "system", "content": self.lean_turn_context if lean else self.turn_context}
        return [{"role": "system", "content": self.system}, *history[:latest_user], context, *history[latest_user:]]


def render_instructions(hass: HomeAssistant, prompt: str, llm_context: llm.LLMContext) -> str:
    """The agent's prompt template, rendered without the user's name so it is the same for everyone.

    HA's chat log has already rendered the same template once this turn, so it is known to be valid here.
    """
    rendered = template.Template(prompt, hass).async_render(
        {"ha_name": hass.config.location_name, "user_name": None, "llm_context": llm_context}, parse_result=False
    )
    return str(rendered)


def turn_context(
    now: datetime.datetime,
    user_name: str | None,
    device_lines: Sequence[str],
    retrieved: Sequence[ExposedEntity] | None,
    extra_system_prompt: str | None,
    live_states: str | None = None,
) -> str:
    """What only this turn knows: the date, who speaks, where the satellite is, the entities retrieved for the
    request, the time, and the live states of those the request names.

    What lasts longest comes first, so the engine's cache covers it too (each token it must evaluate costs a 0.5B
    model about 10 ms on 2 cores): the date changes once a day, the time every turn.
    """
    lines = [DATE_LINE.format(date=now.strftime("%Y-%m-%d"))]
    if user_name:
        lines.append(f"You are talking to {user_name}.")
    lines.extend(device_lines)
    if extra_system_prompt:
        lines.append(extra_system_prompt)
    if retrieved is not None:
        lines.append(entity_overview(retrieved).rstrip("\n"))
    lines.append(CLOCK_LINE.format(time=now.strftime("%H:%M:%S")))
    if live_states:
        lines.append(live_states.rstrip("\n"))
    return "\n".join(lines)


def system_message(
    instructions: str, api_prompt: str | None, home: HomeContext, tool_names: Collection[str] = ()
) -> str:
    """The part of the prompt that is the same for every turn: the instructions, the API's fixed rules, the rules of
    the offered tools (``tool_names``) and what the home context puts there (every entity, or the areas)."""
    parts = [instructions.rstrip("\n")]
    if api_prompt is not None:
        api = split_api_prompt(api_prompt)
        parts.append(api.rules.rstrip("\n"))
        parts.extend(rule for name, rule in TOOL_RULES.items() if name in tool_names)
        if api.lists_entities and home.retrieved is None and home.listed:
            parts.append(entity_overview(home.listed).rstrip("\n"))
        elif api.lists_entities and home.areas:
            parts.append(home.areas)
    return "\n".join(parts)


def build_layout(
    instructions: str,
    api_prompt: str | None,
    home: HomeContext,
    now: datetime.datetime,
    user_name: str | None,
    extra_system_prompt: str | None,
    memory: str | None = None,
    live_states: str | None = None,
    tool_names: Collection[str] = (),
) -> PromptLayout:
    """Lays out one turn's prompt; the retrieved entities go to the turn context, when the API describes entities."""
    device_lines: tuple[str, ...] = ()
    retrieved = None
    if api_prompt is not None:
        api = split_api_prompt(api_prompt)
        device_lines = api.device_lines
        retrieved = home.retrieved if api.lists_entities else None

    def context(memory: str | None, live_states: str | None) -> str:
        extra = "\n\n".join(filter(None, (extra_system_prompt, memory))) or None
        return turn_context(now, user_name, device_lines, retrieved, extra, live_states)

    return PromptLayout(
        system=system_message(instructions, api_prompt, home, tool_names),
        turn_context=context(memory, live_states),
        lean_turn_context=context(None, None),
    )
