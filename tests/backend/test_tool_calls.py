"""The tool-call parser on raw outputs of the forms small models really write (Qwen2.5 0.5B/1.5B among them)."""

from __future__ import annotations

import json

import pytest

from havencore_backend.llm.tool_calls import ToolCallStream, json_arguments, parse_tool_calls

TOOLS = frozenset({"turn_on", "turn_off", "get_weather"})

# Raw completions as the models returned them (chat template applied, tools offered).
TAGGED = '<tool_call>\n{"name": "turn_on", "arguments": {"entity_id": "light.kitchen"}}\n</tool_call>'
TAGGED_TWO = (
    '<tool_call>\n{"name": "turn_on", "arguments": {"entity_id": "light.kitchen"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "turn_off", "arguments": {"entity_id": "fan.bedroom"}}\n</tool_call>'
)
FENCED = '```json\n{\n  "name": "turn_on",\n  "arguments": {\n    "entity_id": "light.kitchen"\n  }\n}\n```'
FENCED_WITH_PROSE = (
    'Sure! Here is the call:\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\nLet me know.'
)
BARE = '{"name": "turn_on", "arguments": {"entity_id": "light.kitchen"}}'
BARE_LIST = '[{"name": "turn_on", "arguments": {}}, {"name": "turn_off", "parameters": {"entity_id": "light.hall"}}]'
STRING_ARGUMENTS = '{"name": "turn_on", "arguments": "{\\"entity_id\\": \\"light.kitchen\\"}"}'
OPENAI_SHAPE = '{"type": "function", "function": {"name": "turn_on", "arguments": {"entity_id": "light.kitchen"}}}'
TRUNCATED = '<tool_call>\n{"name": "turn_on", "arguments": {"entity_id": "light.kitchen"'
TRAILING_COMMA = '{"name": "turn_on", "arguments": {"entity_id": "light.kitchen",},}'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (TAGGED, [("turn_on", {"entity_id": "light.kitchen"})]),
        (TAGGED_TWO, [("turn_on", {"entity_id": "light.kitchen"}), ("turn_off", {"entity_id": "fan.bedroom"})]),
        (FENCED, [("turn_on", {"entity_id": "light.kitchen"})]),
        (BARE, [("turn_on", {"entity_id": "light.kitchen"})]),
        (BARE_LIST, [("turn_on", {}), ("turn_off", {"entity_id": "light.hall"})]),
        (STRING_ARGUMENTS, [("turn_on", {"entity_id": "light.kitchen"})]),
        (OPENAI_SHAPE, [("turn_on", {"entity_id": "light.kitchen"})]),
        (TRUNCATED, [("turn_on", {"entity_id": "light.kitchen"})]),
        (TRAILING_COMMA, [("turn_on", {"entity_id": "light.kitchen"})]),
    ],
)
def test_calls_are_found_in_every_form(raw: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    parsed = parse_tool_calls(raw, TOOLS)
    assert [(call.name, json.loads(call.arguments)) for call in parsed.tool_calls] == expected
    assert parsed.content == ""


def test_prose_around_a_fenced_call_is_kept() -> None:
    parsed = parse_tool_calls(FENCED_WITH_PROSE, TOOLS)
    assert [call.name for call in parsed.tool_calls] == ["get_weather"]
    assert parsed.content == "Sure! Here is the call:\n\nLet me know."


@pytest.mark.parametrize(
    "raw",
    [
        "Why did the light bulb go to school? To get brighter!",
        "I turned on the kitchen light {as requested}.",
        '```json\n{"city": "Paris", "temperature": 21}\n```',
        '{"name": "launch_rockets", "arguments": {}}',
        "<tool_call>\nnot json at all\n</tool_call>",
        '{"name": "turn_on", "arguments": [1, 2]}',
        '```python\nprint("turn_on")\n```',
    ],
)
def test_prose_unknown_tools_and_broken_calls_stay_content(raw: str) -> None:
    parsed = parse_tool_calls(raw, TOOLS)
    assert parsed.tool_calls == ()
    assert parsed.content == raw


def test_nothing_is_a_call_when_no_tools_were_offered() -> None:
    assert parse_tool_calls(BARE, frozenset()).tool_calls == ()


def _stream(pieces: list[str]) -> tuple[str, ToolCallStream]:
    stream = ToolCallStream(TOOLS)
    return "".join(stream.feed(piece) for piece in pieces), stream


def test_stream_releases_prose_as_it_comes() -> None:
    released, stream = _stream(["Hello", " there,", " friend."])
    assert released == "Hello there, friend."
    assert stream.finish() == parse_tool_calls("", TOOLS)


def test_stream_holds_a_tagged_call_split_across_pieces() -> None:
    pieces = ["<tool", "_call>\n{", '"name": "turn_on", ', '"arguments": {}}\n</tool_call>']
    released, stream = _stream(pieces)
    assert released == ""
    assert [call.name for call in stream.finish().tool_calls] == ["turn_on"]


def test_stream_releases_prose_then_holds_a_fence() -> None:
    pieces = [
        "Sure! Here",
        " is the call:\n``",
        "`json\n",
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
    ]
    released, stream = _stream(pieces)
    assert released == "Sure! Here is the call:\n"
    assert [call.name for call in stream.finish().tool_calls] == ["get_weather"]


def test_stream_gives_back_held_json_that_was_no_call() -> None:
    released, stream = _stream(['{"city": ', '"Paris"}'])
    assert released == ""
    finished = stream.finish()
    assert finished.tool_calls == ()
    assert finished.content == '{"city": "Paris"}'


def test_arguments_are_repaired_into_a_json_object() -> None:
    assert json.loads(json_arguments('{"entity_id": "k')) == {"entity_id": "k"}
    assert json_arguments("not json") == "{}"
    assert json_arguments("") == "{}"
