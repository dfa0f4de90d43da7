"""A GBNF grammar for answers to a request with tools: either prose, or tool calls that validate.

Under it a (small) model writes plain text, or calls whose name is an offered tool and whose arguments match that
tool's JSON schema, enums included, so it cannot invent a tool or an entity nor write broken JSON. Calls may take
each form the parser reads (``<tool_call>`` tags, one fenced ``json`` block, bare JSON): small coder models start a
call with a fence, and forbidding it turns their call into prose that only describes it. Prose may not start like
JSON nor hold ``<``, braces or backticks, so no unconstrained text can be read as a call or echo one.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from .engine import ChatRequestError, JSONObject

_CALL_RULE = "tool-call"
# What a call starts with. Prose starts with a letter or digit (or any non-ASCII character) and holds no braces,
# tags or backticks: small models otherwise echo calls and tool results as "prose" like ``>{"name": ...}``.
CALL_STARTS = '<{[`"'
_PROSE_RULE = r"""[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f] [^<{}`]*"""
PROSE_GRAMMAR = f"root ::= {_PROSE_RULE}\n"
_ROOT_RULES = rf"""
root ::= prose | tagged-calls | fenced-call | tool-call
prose ::= {_PROSE_RULE}
tagged-calls ::= ("<tool_call>" "\n"? tool-call "\n"? "</tool_call>" "\n"?)+
fenced-call ::= "```" "json"? "\n" tool-call "\n"? "```"
"""


# A string's maxLength becomes one nested rule per allowed character: a limit of thousands builds a grammar llama.cpp
# cannot parse (it took the whole backend down). Longer limits are left to the tool's own validation.
MAX_GRAMMAR_STRING_LENGTH = 64


def _without_long_length_limits(schema: Any) -> Any:
    """``schema`` with every ``maxLength`` above ``MAX_GRAMMAR_STRING_LENGTH`` removed, at any depth."""
    if isinstance(schema, dict):
        return {
            key: _without_long_length_limits(value)
            for key, value in schema.items()
            if not (key == "maxLength" and isinstance(value, int) and value > MAX_GRAMMAR_STRING_LENGTH)
        }
    if isinstance(schema, list):
        return [_without_long_length_limits(item) for item in schema]
    return schema


def _holds_strings(schema: Any) -> bool:
    """Whether ``schema`` is a string's, or an array's of strings."""
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "array":
        return isinstance(schema.get("items"), dict) and schema["items"].get("type") == "string"
    return schema.get("type") == "string"


def _restricted(schema: JSONObject, values: list[str]) -> JSONObject:
    """A string (or string-array) schema limited to ``values``, within its own enum where that leaves any."""
    if schema["type"] == "array":
        return schema | {"items": _restricted(schema["items"], values)}
    own = schema.get("enum")
    allowed = [value for value in values if value in own] if isinstance(own, list) else []
    return schema | {"enum": allowed or values}


def _tool_with_argument_values(tool: JSONObject, values: dict[str, list[str]]) -> JSONObject:
    parameters = tool["function"].get("parameters") or {}
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return tool
    named = {name for name in values.keys() & properties.keys() if _holds_strings(properties[name])}
    if not named:
        return tool
    # A parameter left no value is left out, so the grammar never writes it (an empty enum would let the grammar end
    # the JSON right after its key).
    properties = {
        name: _restricted(schema, values[name]) if name in named else schema
        for name, schema in properties.items()
        if name not in named or values[name]
    }
    return tool | {"function": tool["function"] | {"parameters": parameters | {"properties": properties}}}


def with_argument_values(tools: list[JSONObject], values: dict[str, list[str]]) -> list[JSONObject]:
    """``tools`` whose string parameters named in ``values`` may only take those values (a request's
    ``tool_argument_values``); for the grammar only, as the prompt shows the tools as sent."""
    return [_tool_with_argument_values(tool, values) for tool in tools]


def call_schema(tools: list[JSONObject]) -> JSONObject:
    """The schema of one call: ``{"name": <tool>, "arguments": <its parameters>}`` for any offered tool."""
    options: list[JSONObject] = [
        {
            "type": "object",
            "properties": {
                "name": {"const": tool["function"]["name"]},
                "arguments": _without_long_length_limits(tool["function"].get("parameters"))
                or {"type": "object", "properties": {}},
            },
            "required": ["name", "arguments"],
        }
        for tool in tools
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}


@functools.lru_cache(maxsize=32)
def _grammar_text(tools_json: str) -> str:
    from llama_cpp import llama_grammar

    schema_converter: Any = llama_grammar.SchemaConverter  # untyped
    converter = schema_converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    schema: Any = converter.resolve_refs(call_schema(json.loads(tools_json)), "tools")
    converter.visit(schema, _CALL_RULE)
    rules: str = converter.format_grammar()
    return rules + _ROOT_RULES


def tool_call_grammar(tools: list[JSONObject]) -> str:
    """The GBNF text for ``tools`` (OpenAI ``tools`` entries), cached per tool set: converting large enums is slow.

    Raises ``ChatRequestError`` when a tool's parameter schema cannot be expressed as a grammar.
    """
    try:
        return _grammar_text(json.dumps(tools, sort_keys=True))
    except Exception as err:  # the converter raises assorted errors on schemas it cannot express
        raise ChatRequestError(
            f"unsupported tool parameter schema: {err}", code="invalid_function_parameters", param="tools"
        ) from err
