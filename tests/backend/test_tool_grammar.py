"""The tool-call grammar: small enough for llama.cpp whatever length limits a schema sets, and restricted to a
request's tool-argument values."""

from __future__ import annotations

from havencore_backend.llm.engine import JSONObject
from havencore_backend.llm.tool_grammar import MAX_GRAMMAR_STRING_LENGTH, tool_call_grammar, with_argument_values


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


HASS_TURN_ON: JSONObject = {
    "type": "function",
    "function": {
        "name": "HassTurnOn",
        "parameters": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "area": {"type": "string", "enum": ["Kitchen", "Garage"]},
                "domain": {"type": "array", "items": {"type": "string"}},
                "brightness": {"type": "integer"},
            },
        },
    },
}


def _properties(tools: list[JSONObject]) -> dict[str, JSONObject]:
    properties: dict[str, JSONObject] = tools[0]["function"]["parameters"]["properties"]
    return properties


def test_argument_values_restrict_string_parameters_of_that_name() -> None:
    values = {"name": ["Bedroom lamp"], "area": ["Kitchen", "Bedroom"], "domain": ["light"], "brightness": ["50"]}
    properties = _properties(with_argument_values([HASS_TURN_ON], values))
    assert properties["name"] == {"type": "string", "enum": ["Bedroom lamp"]}
    # Within the schema's own enum; an array's items take the values.
    assert properties["area"] == {"type": "string", "enum": ["Kitchen"]}
    assert properties["domain"] == {"type": "array", "items": {"type": "string", "enum": ["light"]}}
    # Only strings are restricted.
    assert properties["brightness"] == {"type": "integer"}
    # The tools as sent (which the prompt shows) are unchanged.
    assert "enum" not in HASS_TURN_ON["function"]["parameters"]["properties"]["name"]


def test_argument_values_outside_the_schemas_enum_replace_it() -> None:
    properties = _properties(with_argument_values([HASS_TURN_ON], {"area": ["Attic"]}))
    assert properties["area"] == {"type": "string", "enum": ["Attic"]}


def test_argument_values_reach_the_grammar() -> None:
    plain = tool_call_grammar([HASS_TURN_ON])
    restricted = tool_call_grammar(with_argument_values([HASS_TURN_ON], {"name": ["Bedroom lamp"]}))
    assert "Bedroom lamp" not in plain
    assert "Bedroom lamp" in restricted
    assert with_argument_values([HASS_TURN_ON], {}) == [HASS_TURN_ON]
    assert with_argument_values([HASS_TURN_ON], {"entity_id": ["light.kitchen"]}) == [HASS_TURN_ON]


def test_a_parameter_left_no_value_is_left_out_of_the_grammar() -> None:
    properties = _properties(with_argument_values([HASS_TURN_ON], {"name": [], "domain": []}))
    assert set(properties) == {"area", "brightness"}
    # An empty enum would be an empty rule: the call could end right after the key.
    grammar = tool_call_grammar(with_argument_values([HASS_TURN_ON], {"area": []}))
    assert '\\"area\\"' not in grammar
    assert '\\"brightness\\"' in grammar
