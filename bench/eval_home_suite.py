"""A suite of home commands for your own home, read from YAML, for ``bench.eval_commands --url``.

The file holds the actions that put the devices back before every case (``reset``) and the cases, each with its
text, what must end in which state, and the words the reply must hold::

    reset:                               # run before every case (optional)
      - action: light.turn_off
        target: {entity_id: [light.kitchen, light.hallway]}
    cases:
      - text: turn on the kitchen light
        kind: on/off                     # groups the report (optional)
        expect:
          light.kitchen: {state: "on"}
      - text: dim the hallway to 50 percent
        given:                           # run after the reset, before this case (optional)
          - action: light.turn_on
            target: {entity_id: light.hallway}
        expect:
          light.hallway: {state: "on", attributes: {brightness: 128}}
      - text: what is the capital of France
        words: [paris]                   # each item a word, or a list of words one of which is enough

A case expecting nothing (a question, chit-chat) is right when nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.yaml import parse_yaml

from bench.eval_suite import Case, Expect, ServiceCall


class SuiteError(ValueError):
    """The suite file is not what this module reads; the message says where."""


@dataclass(frozen=True, slots=True)
class Suite:
    """The actions run before every case, and the cases."""

    reset: tuple[ServiceCall, ...]
    cases: tuple[Case, ...]


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SuiteError(f"{where}: expected a mapping, got {value!r}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SuiteError(f"{where}: expected a list, got {value!r}")
    return value


def _action(value: Any, where: str) -> ServiceCall:
    """``{action: light.turn_on, target: {...}, data: {...}}`` as the service call the harness runs."""
    item = _mapping(value, where)
    domain, dot, service = str(item.get("action", "")).partition(".")
    if not (domain and dot and service):
        raise SuiteError(f"{where}: 'action' must be 'domain.service', got {item.get('action')!r}")
    data = _mapping(item.get("data") or {}, f"{where}.data")
    target = _mapping(item.get("target") or {}, f"{where}.target")
    return ServiceCall(domain, service, {**data, **target})


def _expect(value: Any, where: str) -> Expect:
    item = _mapping(value, where)
    state = item.get("state")
    if isinstance(state, bool):  # YAML reads an unquoted on/off as true/false
        state = "on" if state else "off"
    attributes = _mapping(item.get("attributes") or {}, f"{where}.attributes")
    if state is None and not attributes:
        raise SuiteError(f"{where}: give a 'state', 'attributes' or both")
    return Expect(None if state is None else str(state), dict(attributes))


def _word(value: Any, where: str) -> str:
    if isinstance(value, bool):
        raise SuiteError(f"{where}: YAML reads an unquoted yes/no/on/off as true/false: quote it")
    return str(value)


def _words(value: Any, where: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(_word(word, where) for word in group) if isinstance(group, list) else (_word(group, where),)
        for group in _list(value, where)
    )


def _case(value: Any, where: str) -> Case:
    item = _mapping(value, where)
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise SuiteError(f"{where}: 'text' must be the command, got {text!r}")
    expect = _mapping(item.get("expect") or {}, f"{where}.expect")
    return Case(
        text=text,
        kind=str(item.get("kind") or "other"),
        expect={str(entity): _expect(wanted, f"{where}.expect.{entity}") for entity, wanted in expect.items()},
        words=_words(item.get("words"), f"{where}.words"),
        given=tuple(_action(call, f"{where}.given[{i}]") for i, call in enumerate(_list(item.get("given"), where))),
    )


def load_suite(path: Path) -> Suite:
    """Reads a suite file; raises ``SuiteError`` saying what is wrong where."""
    try:
        document = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, HomeAssistantError) as err:
        raise SuiteError(f"{path}: {err}") from err
    root = _mapping(document, str(path))
    cases = tuple(_case(item, f"cases[{i}]") for i, item in enumerate(_list(root.get("cases"), "cases")))
    if not cases:
        raise SuiteError(f"{path}: no cases")
    reset = tuple(_action(item, f"reset[{i}]") for i, item in enumerate(_list(root.get("reset"), "reset")))
    return Suite(reset=reset, cases=cases)
