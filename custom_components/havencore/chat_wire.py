"""The OpenAI chat wire format of HavenCore's requests: HA's tools as ``tools``, the chat log as ``messages``, and the
streamed reply back as chat log deltas."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from homeassistant.components import conversation
from homeassistant.helpers import llm
from homeassistant.helpers.json import json_dumps
from voluptuous_openapi import convert

from .vocabulary import ExposedEntity, constrain_parameters, vocabulary_of

# How much text of a reply that HavenCore replaces anyway is read before the stream is closed (which stops the
# backend generating): a small model answering a command it could not do rambled on for 363 tokens (29 s).
DISCARDED_TEXT_LIMIT = 100

# Set as a tool argument when the model's arguments are not JSON: no tool schema accepts it, so the tool fails
# validation and the error goes back to the model instead of a call with guessed arguments.
UNPARSABLE_ARGUMENTS_KEY = "unparsable_arguments"


def script_entity_id(tool: llm.Tool) -> str | None:
    """The script an Assist script tool runs, e.g. ``script.good_night``; ``None`` for other tools."""
    if not isinstance(tool, llm.ScriptTool):
        return None
    # HA prefixes an object id that starts with a digit with "_" to make the tool's name.
    object_id = tool.name[1:] if tool.name.startswith("_") and tool.name[1:2].isdigit() else tool.name
    return f"script.{object_id}"


def format_tools(
    api: llm.APIInstance, home: Sequence[ExposedEntity], scripts: Sequence[ExposedEntity] = ()
) -> list[dict[str, Any]]:
    """The API's tools as OpenAI ``tools`` entries, compact whatever the home's size: their slots fitted to what
    ``home`` has (see ``vocabulary.constrain_parameters``), names, areas and floors left to the grammar. Each exposed
    script is a tool of its own, so scripts are offered like entities are listed: only those among ``scripts``."""
    vocabulary = vocabulary_of(home, home)
    offered = {entity.entity_id for entity in scripts}
    tools = []
    for tool in api.tools:
        if (script := script_entity_id(tool)) is not None and script not in offered:
            continue
        parameters = constrain_parameters(convert(tool.parameters, custom_serializer=api.custom_serializer), vocabulary)
        if isinstance(properties := parameters.get("properties"), dict):
            # In the order the backend's grammar lets a call write them (sorted), so the model reads what it may write.
            parameters["properties"] = dict(sorted(properties.items()))
        function: dict[str, Any] = {"name": tool.name, "parameters": parameters}
        if tool.description:
            function["description"] = tool.description
        tools.append({"type": "function", "function": function})
    return tools


def tool_names(tools: Sequence[dict[str, Any]] | None) -> set[str]:
    """The names of ``tools`` in the OpenAI shape that ``format_tools`` gives."""
    return {tool["function"]["name"] for tool in tools or ()}


def parse_tool_arguments(raw: str) -> dict[str, Any]:
    """Decodes a tool call's JSON arguments; anything but a JSON object is kept aside so validation rejects it."""
    if not raw.strip():
        return {}
    try:
        arguments = json.loads(raw)
    except ValueError:
        return {UNPARSABLE_ARGUMENTS_KEY: raw}
    if not isinstance(arguments, dict):
        return {UNPARSABLE_ARGUMENTS_KEY: raw}
    # Small models send empty strings or nulls for optional slots, which intent matching would take literally.
    return {key: value for key, value in arguments.items() if value not in (None, "")}


def convert_content(content: conversation.Content) -> dict[str, Any]:
    """One chat log item as an OpenAI chat message."""
    if isinstance(content, conversation.ToolResultContent):
        return {"role": "tool", "tool_call_id": content.tool_call_id, "content": json_dumps(content.tool_result)}
    if isinstance(content, conversation.AssistantContent):
        message: dict[str, Any] = {"role": "assistant", "content": content.content or ""}
        if content.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.tool_name, "arguments": json.dumps(call.tool_args)},
                }
                for call in content.tool_calls
            ]
        return message
    return {"role": content.role, "content": content.content}


async def transform_stream(
    chunks: AsyncIterator[dict[str, Any]],
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """OpenAI chat stream chunks as chat log deltas: text as it arrives, tool calls once complete.

    Chunks look like ``{"choices": [{"index": 0, "delta": {"content": "The light"}}]}`` or, for a tool call split
    over chunks, ``{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "call_1", "function":
    {"name": "HassTurnOn", "arguments": "{\\"name\\": "}}]}}]}`` followed by more ``arguments`` fragments.
    """
    yield {"role": "assistant"}
    pending: dict[int, dict[str, str]] = {}
    async for chunk in chunks:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if content := delta.get("content"):
                yield {"content": content}
            for call in delta.get("tool_calls") or ():
                slot = pending.setdefault(int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
    if pending:
        yield {"tool_calls": [_tool_input(slot) for _, slot in sorted(pending.items())]}


async def without_text(
    deltas: AsyncIterator[conversation.AssistantContentDeltaDict], limit: int = DISCARDED_TEXT_LIMIT
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """The deltas of a step whose reply is replaced whatever it says (see ``reply.reply_replaced``), without their
    text: the Assist pipeline would start speaking a long text before the reply is replaced. Stops after ``limit``
    characters of text; tool calls pass."""
    written = 0
    async for delta in deltas:
        if text := delta.get("content"):
            written += len(text)
            if written > limit:
                return
            continue
        yield delta


def _tool_input(slot: dict[str, str]) -> llm.ToolInput:
    """A complete tool call, keeping the backend's call id when it gave one."""
    arguments = parse_tool_arguments(slot["arguments"])
    if slot["id"]:
        return llm.ToolInput(tool_name=slot["name"], tool_args=arguments, id=slot["id"])
    return llm.ToolInput(tool_name=slot["name"], tool_args=arguments)
