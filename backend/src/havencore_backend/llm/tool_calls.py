"""Finds the tool calls in a model's raw text, whichever way a (small) model chose to write them.

Recognised forms, in order: ``<tool_call>{...}</tool_call>`` tags (Qwen/Hermes style, closing tag optional at the
end), fenced ``json`` code blocks, and the whole answer being bare JSON. A JSON object only becomes a call when it
names one of the offered tools, so prose, code samples and made-up tools stay ordinary content.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED = re.compile(r"```(?:json|tool_call|tool_code)?\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedToolCall:
    """One call: the tool's name and its arguments as a JSON object string."""

    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ParsedOutput:
    """A model answer split into the prose left over and the tool calls found."""

    content: str
    tool_calls: tuple[ParsedToolCall, ...]


def _balance(text: str) -> str:
    """Appends the closing brackets a truncated JSON text is missing (outside strings)."""
    closers: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]" and closers:
            closers.pop()
    return text + ('"' if in_string else "") + "".join(reversed(closers))


def _load_json(text: str) -> Any:
    """Parses JSON leniently: trailing commas and missing closing brackets are repaired; None when hopeless."""
    candidate = text.strip()
    if not candidate or candidate[0] not in "{[":
        return None
    for attempt in (candidate, _balance(re.sub(r",\s*([}\]])", r"\1", candidate))):
        try:
            return json.loads(attempt)
        except ValueError:
            continue
    return None


def json_arguments(text: str) -> str:
    """Call arguments as a JSON object string, repaired when truncated; ``{}`` when nothing usable is left."""
    loaded = _load_json(text)
    return json.dumps(loaded if isinstance(loaded, dict) else {}, ensure_ascii=False)


def _as_call(item: Any, tool_names: frozenset[str]) -> ParsedToolCall | None:
    """A call when ``item`` looks like ``{"name": <offered tool>, "arguments": {...}}``."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):  # OpenAI's own shape, echoed back by some models
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or name not in tool_names:
        return None
    arguments = item.get("arguments", item.get("parameters", {}))
    if isinstance(arguments, str):
        arguments = _load_json(arguments) if arguments.strip() else {}
    if not isinstance(arguments, dict):
        return None
    return ParsedToolCall(name=name, arguments=json.dumps(arguments, ensure_ascii=False))


def _calls_in(text: str, tool_names: frozenset[str]) -> list[ParsedToolCall] | None:
    """Every call in one JSON text (an object or a list of them); None unless all of it is calls."""
    loaded = _load_json(text)
    items = loaded if isinstance(loaded, list) else [loaded]
    calls = [_as_call(item, tool_names) for item in items]
    if not calls or any(call is None for call in calls):
        return None
    return [call for call in calls if call is not None]


def _extract(text: str, pattern: re.Pattern[str], tool_names: frozenset[str]) -> ParsedOutput | None:
    calls: list[ParsedToolCall] = []
    kept: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        found = _calls_in(match.group(1), tool_names)
        if found is None:
            continue
        calls.extend(found)
        kept.append(text[position : match.start()])
        position = match.end()
    if not calls:
        return None
    kept.append(text[position:])
    return ParsedOutput(content="".join(kept).strip(), tool_calls=tuple(calls))


def parse_tool_calls(text: str, tool_names: frozenset[str]) -> ParsedOutput:
    """Splits ``text`` into prose and calls to the tools named in ``tool_names``."""
    if tool_names:
        for pattern in (_TAGGED, _FENCED):
            parsed = _extract(text, pattern, tool_names)
            if parsed is not None:
                return parsed
        bare = _calls_in(text, tool_names)
        if bare is not None:
            return ParsedOutput(content="", tool_calls=tuple(bare))
    return ParsedOutput(content=text, tool_calls=())


_MARKERS = ("<tool_call>", "```")


def _hold_from(text: str) -> int:
    """Where the part of ``text`` that may belong to a call starts (a marker, or a marker's beginning at the end)."""
    found = [index for index in (text.find(marker) for marker in _MARKERS) if index >= 0]
    if found:
        return min(found)
    for start in range(max(0, len(text) - max(map(len, _MARKERS)) + 1), len(text)):
        if any(marker.startswith(text[start:]) for marker in _MARKERS):
            return start
    return len(text)


class ToolCallStream:
    """Streams prose as it comes while holding back whatever may still turn out to be a tool call.

    An answer that starts like JSON or a marker is held whole; prose flows until a marker appears, and the rest is
    parsed by ``finish`` once generation ends.
    """

    def __init__(self, tool_names: frozenset[str]) -> None:
        self._tool_names = tool_names
        self._held = ""
        self._released_any = False
        self._capturing = False

    def feed(self, delta: str) -> str:
        """Takes the next piece of text and returns the prose that can be sent now."""
        self._held += delta
        if self._capturing:
            return ""
        if not self._released_any:
            start = self._held.lstrip()
            if not start or start[0] in "{[":
                return ""
        cut = _hold_from(self._held)
        if cut < len(self._held) and self._held[cut:].startswith(_MARKERS):
            self._capturing = True
        released, self._held = self._held[:cut], self._held[cut:]
        self._released_any = self._released_any or bool(released.strip())
        return released

    def finish(self) -> ParsedOutput:
        """The calls found in what was held back, and the held prose that was not a call after all."""
        return parse_tool_calls(self._held, self._tool_names)
