"""The benchmark's Ollama stand-in reads Ollama's chat bodies as HA's ollama integration sends them."""

from __future__ import annotations

import json
from typing import Any

from bench.ollama_standin import MAX_TOKENS, OLLAMA_TEMPERATURE, chat_request, openai_messages


def test_tool_calls_and_results_become_openai_messages() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You control a home."},
        {"role": "user", "content": "Turn on the kitchen light"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"name": "HassTurnOn", "arguments": {"name": "Kitchen Light"}}}],
        },
        {"role": "tool", "content": '{"success": true}'},
    ]
    shaped = openai_messages(messages)
    assert shaped[2]["content"] == ""
    call = shaped[2]["tool_calls"][0]
    assert call["function"]["name"] == "HassTurnOn"
    assert json.loads(call["function"]["arguments"]) == {"name": "Kitchen Light"}
    assert shaped[3] == {"role": "tool", "content": '{"success": true}'}


def test_options_as_ollama_reads_them() -> None:
    defaults = chat_request({"messages": [{"role": "user", "content": "hi"}], "options": {"num_ctx": 4096}})
    assert (defaults.temperature, defaults.max_tokens, defaults.stop) == (OLLAMA_TEMPERATURE, MAX_TOKENS, ())
    given = chat_request({"messages": [], "options": {"temperature": 0, "num_predict": 10, "stop": ["\n"]}})
    assert (given.temperature, given.max_tokens, given.stop) == (0, 10, ("\n",))
