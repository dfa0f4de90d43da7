"""The pure helpers of the tool loop, on chunks and arguments as small local models really send them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component

from custom_components.havencore.api import (
    BackendInfo,
    HavenCoreConnectionError,
    HavenCoreResponseError,
    parse_sse_line,
)
from custom_components.havencore.chat_wire import (
    UNPARSABLE_ARGUMENTS_KEY,
    convert_content,
    parse_tool_arguments,
    transform_stream,
)
from custom_components.havencore.const import DOMAIN
from custom_components.havencore.reply import async_humanize_reply
from custom_components.havencore.turn_prompt import trim_history, without_oldest_turn
from custom_components.havencore.wyoming_client import async_describe
from tests.backend_process import free_port


async def _chunks(items: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


async def test_text_deltas_flow_through_in_order() -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"index": 0, "delta": {"content": "The kitchen"}}]},
        {"choices": [{"index": 0, "delta": {"content": " light is on."}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    deltas = [delta async for delta in transform_stream(_chunks(chunks))]
    assert deltas == [{"role": "assistant"}, {"content": "The kitchen"}, {"content": " light is on."}]


async def test_tool_call_split_over_chunks_is_assembled() -> None:
    chunks: list[dict[str, Any]] = [
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "call_7", "function": {"name": "HassTurnOn"}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"name": "Kit'}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'chen", "area": ""}'}}]}}]},
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 1, "function": {"name": "HassTurnOff", "arguments": "{}"}}]}}
            ]
        },
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
    ]
    deltas = [delta async for delta in transform_stream(_chunks(chunks))]
    calls = deltas[-1]["tool_calls"]
    assert calls is not None
    assert [(call.id, call.tool_name, call.tool_args) for call in calls[:1]] == [
        ("call_7", "HassTurnOn", {"name": "Kitchen"})
    ]
    assert calls[1].tool_name == "HassTurnOff"
    assert calls[1].id  # generated when the backend gave none


def test_arguments_that_are_not_an_object_are_kept_for_validation_to_reject() -> None:
    assert parse_tool_arguments("") == {}
    assert parse_tool_arguments('{"brightness": 50, "name": null}') == {"brightness": 50}
    assert parse_tool_arguments("{'name': 'kitchen'") == {UNPARSABLE_ARGUMENTS_KEY: "{'name': 'kitchen'"}
    assert parse_tool_arguments('["kitchen"]') == {UNPARSABLE_ARGUMENTS_KEY: '["kitchen"]'}


def test_history_keeps_system_prompt_and_recent_turns() -> None:
    messages = [{"role": "system", "content": "s"}]
    for turn in range(4):
        messages += [{"role": "user", "content": f"u{turn}"}, {"role": "assistant", "content": f"a{turn}"}]
    trimmed = trim_history(messages, 1)
    assert [m["content"] for m in trimmed] == ["s", "u2", "a2", "u3", "a3"]
    assert trim_history(messages, 0) == messages
    assert trim_history(messages, 10) == messages


def test_the_oldest_turn_goes_first_and_the_current_one_never() -> None:
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "u0"},
        {"role": "assistant", "content": "a0"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "", "tool_calls": []},
        {"role": "tool", "content": "{}"},
    ]
    shorter = without_oldest_turn(history)
    assert shorter == history[2:]
    assert without_oldest_turn(history[2:]) is None


def test_chat_log_content_becomes_openai_messages() -> None:
    call = llm.ToolInput(tool_name="HassTurnOn", tool_args={"name": "Kitchen"}, id="call_1")
    assistant = conversation.AssistantContent(agent_id="a", content=None, tool_calls=[call])
    result = conversation.ToolResultContent(
        agent_id="a", tool_call_id="call_1", tool_name="HassTurnOn", tool_result={"success": True}
    )
    assert convert_content(conversation.UserContent(content="hi")) == {"role": "user", "content": "hi"}
    assert convert_content(assistant) == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "HassTurnOn", "arguments": '{"name": "Kitchen"}'}}
        ],
    }
    assert convert_content(result) == {"role": "tool", "tool_call_id": "call_1", "content": '{"success":true}'}


def test_sse_lines() -> None:
    assert parse_sse_line(b'data: {"choices": []}\n') == {"choices": []}
    assert parse_sse_line(b"data: [DONE]\n") is None
    assert parse_sse_line(b": keep-alive\n") is None
    assert parse_sse_line(b"\n") is None


def test_unreadable_and_error_stream_lines_raise() -> None:
    with pytest.raises(HavenCoreConnectionError):
        parse_sse_line(b"data: {not json\n")
    with pytest.raises(HavenCoreConnectionError):
        parse_sse_line(b"data: [1, 2]\n")
    with pytest.raises(HavenCoreResponseError, match="context length exceeded") as raised:
        parse_sse_line(b'data: {"error": {"message": "context length exceeded", "code": "context_length_exceeded"}}\n')
    assert raised.value.code == "context_length_exceeded"


def test_info_without_the_expected_fields_is_not_a_havencore_backend() -> None:
    with pytest.raises(HavenCoreConnectionError):
        BackendInfo.from_json({"status": "ok"})


async def test_describe_of_a_closed_port_is_a_connection_error(socket_enabled: None) -> None:
    with pytest.raises(HavenCoreConnectionError):
        await async_describe("127.0.0.1", free_port())


def _chat_log_after_tools(hass: HomeAssistant, results: list[dict[str, Any]], reply: str) -> conversation.ChatLog:
    chat_log = conversation.ChatLog(hass, "test")
    chat_log.content.append(conversation.UserContent(content="turn on the kitchen light"))
    for index, result in enumerate(results):
        chat_log.content.append(
            conversation.ToolResultContent(
                agent_id="a", tool_call_id=str(index), tool_name="HassTurnOn", tool_result=result
            )
        )
    chat_log.content.append(conversation.AssistantContent(agent_id="a", content=reply))
    return chat_log


@pytest.mark.parametrize(
    ("results", "reply", "spoken"),
    [
        (
            [{"response_type": "action_done", "data": {"success": [{"name": "Kitchen light", "type": "entity"}]}}],
            '{"response_type": "action_done"}',
            "Done: Kitchen light.",
        ),
        (
            [{"error": "MatchFailedError", "error_text": "no floor"}],
            '{"name": "HassTurnOn"}',
            "Sorry, I could not find that device among those I may control.",
        ),
        (
            [{"error": "MatchFailedError", "error_text": "no entity named Garage light"}],
            "Done! I turned on the garage light.",
            "Sorry, I could not find that device among those I may control.",
        ),
        (
            [{"error": "ActionNotConfirmed", "unconfirmed": ["Kitchen light"]}],
            "The kitchen light is on now!",
            "Sorry, that did not work: Kitchen light did not change.",
        ),
        (
            [{"response_type": "action_done", "data": {"success": [], "failed": [{"name": "Fan", "type": "entity"}]}}],
            "Done.",
            "Sorry, that did not work.",
        ),
        (
            [
                {"error": "MatchFailedError"},
                {"response_type": "action_done", "data": {"success": [{"name": "Kitchen light", "type": "entity"}]}},
            ],
            "The kitchen light is on.",
            "The kitchen light is on.",
        ),
        (
            [{"error": "HomeAssistantError"}, {"response_type": "query_answer", "data": {"success": []}}],
            "All done.",
            "Sorry, that did not work.",
        ),
        ([], "", "Sorry, I could not put that into words."),
        ([], "[1, 2]", "Sorry, I could not put that into words."),
        (
            [{"response_type": "action_done", "data": {"success": [{"name": "Kitchen light", "type": "entity"}]}}],
            '{"name": "HassTurnOn", "arguments": {"name": "Kitchen light"}}\n{"response_type": "action_done"}',
            "Done: Kitchen light.",
        ),
        ([], "The kitchen light is on.", "The kitchen light is on."),
        ([], "{not json at all", "{not json at all"),
        # A small model repeating its turn context is not an answer.
        (
            [],
            "Current time is 11:40:09.\nLive Context of the devices this request names:",
            "Sorry, I could not put that into words.",
        ),
        (
            [{"response_type": "action_done", "data": {"success": [{"name": "Kitchen light", "type": "entity"}]}}],
            "Static Context: An overview of the areas and the devices in this smart home:",
            "Done: Kitchen light.",
        ),
        ([], "name: HassSetTemperature arguments: temperature=22", "Sorry, I could not put that into words."),
        (
            [],
            "Yes, I am equipped to answer questions about the current state of the home. Do not state you lack the",
            "Sorry, I could not put that into words.",
        ),
    ],
)
async def test_replies_say_what_the_tools_really_did(
    hass: HomeAssistant, results: list[dict[str, Any]], reply: str, spoken: str
) -> None:
    await async_setup_component(hass, DOMAIN, {})
    chat_log = _chat_log_after_tools(hass, results, reply)

    await async_humanize_reply(hass, chat_log, "en")

    last = chat_log.content[-1]
    assert isinstance(last, conversation.AssistantContent)
    assert last.content == spoken


@pytest.mark.parametrize(
    ("results", "spoken"),
    [
        ([], "Sorry, I could not do that."),
        ([{"success": True, "result": "Live Context: ..."}], "Sorry, I could not do that."),
        (
            [{"response_type": "action_done", "data": {"success": [{"name": "Garage door", "type": "entity"}]}}],
            "The garage door is now open.",
        ),
    ],
)
async def test_a_command_that_ran_no_action_is_never_claimed_done(
    hass: HomeAssistant, results: list[dict[str, Any]], spoken: str
) -> None:
    await async_setup_component(hass, DOMAIN, {})
    chat_log = _chat_log_after_tools(hass, results, "The garage door is now open.")

    await async_humanize_reply(hass, chat_log, "en", command=True)

    last = chat_log.content[-1]
    assert isinstance(last, conversation.AssistantContent)
    assert last.content == spoken
