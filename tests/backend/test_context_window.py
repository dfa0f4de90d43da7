"""What clients need to build prompts inside the context window, through the HTTP API on the packaged GGUF: the
window in /v1/models and the info, ``POST /v1/havencore/tokenize``, and tool-argument values that restrict calls
without reaching the prompt."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from tests.backend.conftest import API_KEY
from tests.backend.language_models import CHAT_MODEL_ID, EMBEDDINGS_MODEL_ID, OFFLINE, wait_for_component
from tests.backend_process import RunningBackend, http_get, http_json, start_backend

CONTEXT = 2048
TURN_ON: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "HassTurnOn",
        "description": "Turns on a device or entity",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    },
}
KITCHEN: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You control a smart home. Use the tools to act."},
    {"role": "user", "content": "Turn on the kitchen light"},
]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """A backend on the packaged models with a 2048-token context."""
    running = start_backend(
        tmp_path_factory.mktemp("window"),
        api_key=API_KEY,
        extra_args=("--llm-context-length", str(CONTEXT)),
        env=OFFLINE,
    )
    wait_for_component(running, "llm", "ok")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(backend: RunningBackend) -> openai.OpenAI:
    """The official SDK pointed at the backend."""
    return openai.OpenAI(base_url=f"{backend.url}/v1", api_key=API_KEY, max_retries=0, timeout=120)


def _tokenize(backend: RunningBackend, body: dict[str, Any], api_key: str = API_KEY) -> tuple[int, Any]:
    return http_json("POST", f"{backend.url}/v1/havencore/tokenize", api_key, body)


def test_models_and_info_give_the_context_window(backend: RunningBackend) -> None:
    models = {model["id"]: model for model in http_get(f"{backend.url}/v1/models", API_KEY)[1]["data"]}
    assert models[CHAT_MODEL_ID]["max_model_len"] == CONTEXT
    assert "max_model_len" not in models[EMBEDDINGS_MODEL_ID]
    assert http_get(f"{backend.url}/v1/havencore/info", API_KEY)[1]["chat_context_length"] == CONTEXT


def test_tokenize_counts_the_prompt_tokens_of_the_chat_request(client: openai.OpenAI, backend: RunningBackend) -> None:
    completion = client.chat.completions.create(
        model=CHAT_MODEL_ID, messages=KITCHEN, tools=[TURN_ON], temperature=0, max_tokens=1
    )
    assert completion.usage is not None
    # The same body, sampling fields and all: what does not shape the prompt is ignored.
    body = {"model": CHAT_MODEL_ID, "messages": KITCHEN, "tools": [TURN_ON], "temperature": 0, "max_tokens": 1}
    assert _tokenize(backend, body) == (200, {"count": completion.usage.prompt_tokens, "max_model_len": CONTEXT})
    # Without the tools the prompt is shorter.
    status, without_tools = _tokenize(backend, {"model": CHAT_MODEL_ID, "messages": KITCHEN})
    assert status == 200
    assert without_tools["count"] < completion.usage.prompt_tokens - 20


def test_tokenize_counts_plain_text_and_prompts_beyond_the_window(backend: RunningBackend) -> None:
    plain = {"model": CHAT_MODEL_ID, "prompt": " ".join(["light"] * 100)}
    assert _tokenize(backend, plain) == (200, {"count": 100, "max_model_len": CONTEXT})
    long = {"model": CHAT_MODEL_ID, "messages": [{"role": "user", "content": "word " * 3000}]}
    status, counted = _tokenize(backend, long)
    assert status == 200
    assert counted["count"] > CONTEXT


def test_tokenize_answers_while_a_generation_runs(client: openai.OpenAI, backend: RunningBackend) -> None:
    stream = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[{"role": "user", "content": "Count from 1 to 100."}],
        stream=True,
        temperature=0,
        max_tokens=48,
    )
    chunks = iter(stream)
    next(chunks)  # the generation has started
    system = "The home has a kitchen light, a bedroom lamp and a front door. " * 200
    body = {"model": CHAT_MODEL_ID, "messages": [{"role": "system", "content": system}]}
    started = time.perf_counter()
    status, counted = _tokenize(backend, body)
    elapsed = time.perf_counter() - started
    counted_at = time.monotonic()
    rest = list(chunks)
    print(f"tokenize: {counted['count']} tokens in {elapsed * 1000:.1f} ms during a generation")
    assert status == 200
    assert 2800 < counted["count"] < 3500
    # The answer went on after the count came back: the count did not wait for it.
    assert time.monotonic() - counted_at > 0.2
    assert rest[-1].choices[0].finish_reason is not None


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"model": "gpt-4o", "prompt": "hi"}, 404, "model_not_found", "model"),
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, 404, "model_not_found", "model"),
        ({"model": CHAT_MODEL_ID}, 400, None, None),
        ({"model": CHAT_MODEL_ID, "messages": []}, 400, None, None),
        ({"model": CHAT_MODEL_ID, "prompt": 5}, 400, None, None),
        ({"prompt": "hi"}, 400, None, None),
        ({"model": CHAT_MODEL_ID, "messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "bad name"}}]}, 400, "invalid_value",
         "tools[0].function.name"),
    ],
)  # fmt: skip
def test_tokenize_errors_are_openai_style(
    backend: RunningBackend, body: dict[str, Any], status: int, code: str | None, param: str | None
) -> None:
    answered_status, answer = _tokenize(backend, body)
    assert answered_status == status
    assert answer["error"]["type"] == ("not_found_error" if status == 404 else "invalid_request_error")
    assert answer["error"]["code"] == code
    if param is not None:
        assert answer["error"]["param"] == param
    assert answer["error"]["message"]


def test_tokenize_needs_the_key_and_is_in_the_openapi_document(backend: RunningBackend) -> None:
    status, answer = _tokenize(backend, {"model": CHAT_MODEL_ID, "prompt": "hi"}, api_key="")
    assert status == 401
    assert answer["error"]["code"] == "invalid_api_key"
    paths = http_get(f"{backend.url}/openapi.json", API_KEY)[1]["paths"]
    operation = paths["/v1/havencore/tokenize"]["post"]
    assert "requestBody" in operation
    assert set(operation["responses"]["200"]["content"]["application/json"]["schema"].values()) == {
        "#/components/schemas/TokenizeResponse"
    }


def _called_name(completion: Any) -> str:
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert [call.function.name for call in calls] == ["HassTurnOn"]
    name: str = json.loads(calls[0].function.arguments)["name"]
    return name


def test_tool_argument_values_restrict_a_forced_call(client: openai.OpenAI) -> None:
    def call(**extra: Any) -> Any:
        return client.chat.completions.create(
            model=CHAT_MODEL_ID,
            messages=KITCHEN,
            tools=[TURN_ON],
            tool_choice={"type": "function", "function": {"name": "HassTurnOn"}},
            temperature=0,
            max_tokens=40,
            **extra,
        )

    free, restricted = call(), call(extra_body={"tool_argument_values": {"name": ["Bedroom lamp"]}})
    assert _called_name(free) != "Bedroom lamp"
    assert _called_name(restricted) == "Bedroom lamp"
    # The values are for decoding only: the prompt is the same.
    assert free.usage is not None
    assert restricted.usage is not None
    assert restricted.usage.prompt_tokens == free.usage.prompt_tokens


def test_tool_argument_values_restrict_a_call_the_model_chooses(client: openai.OpenAI, backend: RunningBackend) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You control a smart home. Use the tools to act."},
        {"role": "user", "content": "Turn on the Bedroom lamp"},
    ]

    def call(**extra: Any) -> Any:
        return client.chat.completions.create(
            model=CHAT_MODEL_ID, messages=messages, tools=[TURN_ON], temperature=0, max_tokens=40, **extra
        )

    values = {"name": ["Bedroom lamp"]}
    free, restricted = call(), call(extra_body={"tool_argument_values": values})
    assert _called_name(free) == "Bedroom Lamp"  # the model's own spelling
    assert _called_name(restricted) == "Bedroom lamp"
    body = {"model": CHAT_MODEL_ID, "messages": messages, "tools": [TURN_ON]}
    assert restricted.usage is not None
    assert _tokenize(backend, body | {"tool_argument_values": values})[1]["count"] == restricted.usage.prompt_tokens
    assert _tokenize(backend, body)[1]["count"] == restricted.usage.prompt_tokens


@pytest.mark.parametrize(
    "values", ["Kitchen", ["Kitchen"], {"name": "Kitchen"}, {"name": [1]}, {"name": [["Kitchen"]]}, {"name": None}]
)
def test_tool_argument_values_must_be_lists_of_strings(client: openai.OpenAI, values: Any) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=CHAT_MODEL_ID,
            messages=KITCHEN,
            tools=[TURN_ON],
            max_tokens=1,
            extra_body={"tool_argument_values": values},
        )
    assert raised.value.param == "tool_argument_values"
    assert raised.value.type == "invalid_request_error"
