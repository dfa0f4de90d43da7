"""The tool-call grammar stays small enough for llama.cpp whatever length limits a tool's schema sets."""

from __future__ import annotations

from havencore_backend.llm.engine import JSONObject
from havencore_backend.llm.tool_grammar import MAX_GRAMMAR_STRING_LENGTH, tool_call_grammar


def _tool(max_length: int) -> JSONObject:
    return {
        "type": "function",
        "function": {
            "name": "remember",
            "parameters": {
                "type": "object",
                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": max_length}},
                "required": ["text"],
            },
        },
    }


def test_long_string_limits_are_left_out_of_the_grammar() -> None:
    grammar = tool_call_grammar([_tool(8000)])

    # One nested "(char" per allowed character is what made llama.cpp fail on an 8000-character limit.
    assert grammar.count("(char") < MAX_GRAMMAR_STRING_LENGTH
    assert len(grammar) < 5000


def test_short_string_limits_stay_in_the_grammar() -> None:
    assert tool_call_grammar([_tool(8)]).count("char") >= 8
