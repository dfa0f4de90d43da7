"""The order of what HavenCore sends: a prefix that stays byte-identical, so the engine reuses its cached
prefill across turns and conversations, and everything that changes per turn at the end.

HA's chat log puts the user's name, the satellite's area and (without a date/time tool) the clock into the system
prompt, which makes every turn's prompt differ from its first tokens. Here the system message holds only the
instructions, Assist's fixed rules and the static entity overview; a short context message right before the latest
user message carries the rest.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm, template
from homeassistant.util import yaml as yaml_util

from .vocabulary import ExposedEntity

STATIC_CONTEXT_HEADER = "Static Context: An overview of the areas and the devices in this smart home:"
DATE_LINE = "Today's date is {date}."
CLOCK_LINE = "Current time is {time}."
# Lines of the prompt that no reply of the assistant's should contain: a reply with one echoes the prompt.
PROMPT_MARKERS = ("Static Context:", "Live Context", CLOCK_LINE.split("{", 1)[0])


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


@dataclass(frozen=True, slots=True)
class PromptLayout:
    """The system message (identical for every turn of an agent) and the context of this turn."""

    system: str
    turn_context: str

    def messages(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The system message, the history, and this turn's context right before the latest user message.

        ``history`` is the chat without its system message, ending with the latest user message and whatever the
        model and tools added since.
        """
        latest_user = max((index for index, message in enumerate(history) if message["role"] == "user"), default=0)
        context = {"role": "system", "content": self.turn_context}
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


def build_layout(
    instructions: str,
    api_prompt: str | None,
    entities: Sequence[ExposedEntity],
    retrieved: Sequence[ExposedEntity] | None,
    now: datetime.datetime,
    user_name: str | None,
    extra_system_prompt: str | None,
    live_states: str | None = None,
) -> PromptLayout:
    """Lays out one turn's prompt; ``retrieved`` is ``None`` when every exposed entity goes into the static part."""
    system_parts = [instructions.rstrip("\n")]
    device_lines: tuple[str, ...] = ()
    if api_prompt is not None:
        parts = split_api_prompt(api_prompt)
        system_parts.append(parts.rules.rstrip("\n"))
        device_lines = parts.device_lines
        if parts.lists_entities and retrieved is None and entities:
            system_parts.append(entity_overview(entities).rstrip("\n"))
        if not parts.lists_entities:
            retrieved = None
    else:
        retrieved = None
    return PromptLayout(
        system="\n".join(system_parts),
        turn_context=turn_context(now, user_name, device_lines, retrieved, extra_system_prompt, live_states),
    )
