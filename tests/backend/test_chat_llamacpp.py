"""Chat and embeddings through the real packaged Qwen2.5 0.5B GGUF (llama.cpp) and MiniLM (ONNX), via the openai SDK."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from tests.backend.conftest import API_KEY
from tests.backend.language_models import CHAT_MODEL_ID, EMBEDDINGS_MODEL_ID, OFFLINE, wait_for_component
from tests.backend_process import RunningBackend, http_get, start_backend

TURN_ON: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "turn_on",
        "description": "Turns on a device in the home",
        "parameters": {
            "type": "object",
            "properties": {"entity_id": {"type": "string", "description": "the device, e.g. light.kitchen"}},
            "required": ["entity_id"],
        },
    },
}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """A backend on the packaged models, found in the models folder (no model setting given)."""
    running = start_backend(
        tmp_path_factory.mktemp("chat"),
        api_key=API_KEY,
        # The tool grammar is opt-in; these tests cover it.
        extra_args=("--llm-context-length", "2048", "--llm-tool-grammar", "true"),
        env=OFFLINE,
    )
    wait_for_component(running, "llm", "ok")
    wait_for_component(running, "embeddings", "ok")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(backend: RunningBackend) -> openai.OpenAI:
    """The official SDK pointed at the backend."""
    return openai.OpenAI(base_url=f"{backend.url}/v1", api_key=API_KEY, max_retries=0, timeout=120)


def test_models_lists_the_chat_and_embeddings_models(client: openai.OpenAI) -> None:
    assert {model.id for model in client.models.list()} == {CHAT_MODEL_ID, EMBEDDINGS_MODEL_ID}


def test_streamed_answer(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[{"role": "user", "content": "What is the capital of France? Answer in a short sentence."}],
        stream=True,
        stream_options={"include_usage": True},
        temperature=0,
        max_tokens=24,
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert "Paris" in text
    assert len([chunk for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]) > 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.prompt_tokens > 10
    assert 0 < usage.completion_tokens <= 24


def test_kitchen_light_becomes_a_tool_call(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[
            {"role": "system", "content": "You control a smart home. Use the tools."},
            {"role": "user", "content": "Turn on the kitchen light"},
        ],
        tools=[TURN_ON],
        temperature=0,
        max_tokens=64,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].function.name == "turn_on"
    assert "kitchen" in json.loads(calls[0].function.arguments)["entity_id"]


def test_streamed_tool_call_and_forced_choice(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[{"role": "user", "content": "Please switch on the hallway lamp."}],
        tools=[TURN_ON],
        tool_choice={"type": "function", "function": {"name": "turn_on"}},
        stream=True,
        temperature=0,
        max_tokens=64,
    )
    chunks = [chunk for chunk in stream if chunk.choices]
    calls = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    assert [call.function.name for call in calls if call.function] == ["turn_on"]
    assert calls[0].function is not None
    assert isinstance(json.loads(calls[0].function.arguments or ""), dict)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


HOME_NAMES = ["Kitchen Light", "Bedroom Light", "Front Door"]
TURN_ON_NAMED: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "HassTurnOn",
        "description": "Turns on a device or entity",
        "parameters": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "enum": HOME_NAMES},
                "area": {"type": "string", "enum": ["Kitchen", "Bedroom", "Living Room"]},
            },
        },
    },
}
HOME_SYSTEM = "You control a smart home. Use the tools to act; answer other questions in plain text."


@pytest.mark.parametrize("command", ["Turn on the kitchen light", "it is too dark in the bedroom"])
def test_tool_calls_under_the_grammar_name_only_offered_values(client: openai.OpenAI, command: str) -> None:
    completion = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[{"role": "system", "content": HOME_SYSTEM}, {"role": "user", "content": command}],
        tools=[TURN_ON_NAMED, TURN_ON],
        temperature=0,
        max_tokens=80,
    )
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].function.name in {"HassTurnOn", "turn_on"}
    arguments = json.loads(calls[0].function.arguments)
    if calls[0].function.name == "HassTurnOn":
        assert set(arguments) <= {"name", "area"}
        assert arguments.get("name", "Kitchen Light") in HOME_NAMES
        assert arguments.get("area", "Kitchen") in {"Kitchen", "Bedroom", "Living Room"}
    else:
        assert isinstance(arguments["entity_id"], str)


def test_chit_chat_with_tools_offered_stays_text(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[{"role": "system", "content": HOME_SYSTEM}, {"role": "user", "content": "Tell me a joke."}],
        tools=[TURN_ON_NAMED],
        temperature=0,
        max_tokens=60,
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert not choice.message.tool_calls
    assert len((choice.message.content or "").split()) > 3


def test_a_call_already_answered_is_not_made_again(client: openai.OpenAI, backend: RunningBackend) -> None:
    arguments = json.dumps({"name": "Kitchen Light"})
    completion = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[
            {"role": "system", "content": HOME_SYSTEM},
            {"role": "user", "content": "Turn on the kitchen light"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "HassTurnOn", "arguments": arguments}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"success": ["Kitchen Light"]}'},
        ],
        tools=[TURN_ON_NAMED],
        temperature=0,
        max_tokens=60,
    )
    message = completion.choices[0].message
    repeated = [
        call
        for call in message.tool_calls or []
        if call.type == "function" and json.loads(call.function.arguments) == {"name": "Kitchen Light"}
    ]
    assert not repeated
    assert message.content or message.tool_calls


def test_tool_schema_the_grammar_cannot_express_is_a_400(client: openai.OpenAI) -> None:
    broken: ChatCompletionFunctionToolParam = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}}},
    }
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=CHAT_MODEL_ID, messages=[{"role": "user", "content": "hi"}], tools=[broken], max_tokens=4
        )
    assert raised.value.code == "invalid_function_parameters"
    assert "tool parameter schema" in raised.value.message


def test_usage_reports_the_prompt_tokens_reused_from_the_cache(client: openai.OpenAI) -> None:
    system = HOME_SYSTEM + " The home has a kitchen, a bedroom and a living room. " * 20

    def turn(question: str) -> tuple[int, int]:
        stream = client.chat.completions.create(
            model=CHAT_MODEL_ID,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
            tools=[TURN_ON_NAMED],
            stream=True,
            stream_options={"include_usage": True},
            temperature=0,
            max_tokens=8,
        )
        usage = list(stream)[-1].usage
        assert usage is not None
        assert usage.prompt_tokens_details is not None
        return usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens or 0

    turn("What rooms are there?")
    prompt_tokens, cached_tokens = turn("Is there a garage?")
    # The instructions and tools are the same, so only the new question is evaluated.
    assert prompt_tokens > 300
    assert prompt_tokens - 20 < cached_tokens < prompt_tokens


def test_json_schema_response_is_valid(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "room": {"type": "string"},
            "lights_on": {"type": "boolean"},
            "brightness": {"type": "integer", "minimum": 0, "maximum": 100},
        },
        "required": ["room", "lights_on", "brightness"],
        "additionalProperties": False,
    }
    completion = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[{"role": "user", "content": "The kitchen lights are on at 70 percent. Describe it as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "room_state", "schema": schema}},
        temperature=0,
        max_tokens=60,
    )
    value = json.loads(completion.choices[0].message.content or "")
    assert set(value) == {"room", "lights_on", "brightness"}
    assert isinstance(value["room"], str)
    assert isinstance(value["lights_on"], bool)
    assert isinstance(value["brightness"], int)
    assert 0 <= value["brightness"] <= 100


def test_json_object_response(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=CHAT_MODEL_ID,
        messages=[{"role": "user", "content": "Give the colour of the sky as a JSON object."}],
        response_format={"type": "json_object"},
        temperature=0,
        max_tokens=40,
    )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, 404, "model_not_found"),
        ({"model": CHAT_MODEL_ID, "messages": [{"role": "robot", "content": "hi"}]}, 400, None),
        ({"model": CHAT_MODEL_ID, "messages": []}, 400, None),
        ({"model": CHAT_MODEL_ID, "messages": "hello"}, 400, None),
        ({"model": CHAT_MODEL_ID, "messages": [{"role": "user", "content": "word " * 3000}]}, 400,
         "context_length_exceeded"),
        ({"model": CHAT_MODEL_ID, "messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "bad name", "parameters": {}}}]}, 400, "invalid_value"),
        ({"model": CHAT_MODEL_ID, "messages": [{"role": "user", "content": "hi"}],
          "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]}, 400,
         "invalid_function_parameters"),
        ({"model": CHAT_MODEL_ID, "messages": [{"role": "user", "content": "hi"}], "response_format":
          {"type": "json_schema", "json_schema": {"name": "x", "schema": {"properties": {"a": {"$ref": "#/no"}}}}}},
         400, "invalid_json_schema"),
    ],
)  # fmt: skip
def test_bad_requests_get_openai_errors(
    client: openai.OpenAI, backend: RunningBackend, body: dict[str, object], status: int, code: str | None
) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        client.post("/chat/completions", body=body, cast_to=object)
    assert raised.value.status_code == status
    assert raised.value.code == code
    assert raised.value.message
    assert http_get(f"{backend.url}/health")[0] == 200


def test_malformed_json_is_a_400_and_the_backend_stays_up(backend: RunningBackend) -> None:
    status, body = _post_raw(backend, b'{"model": "x", "messages": [')
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert http_get(f"{backend.url}/health")[0] == 200


def _post_raw(backend: RunningBackend, payload: bytes) -> tuple[int, dict[str, dict[str, str]]]:
    request = urllib.request.Request(
        f"{backend.url}/v1/chat/completions",
        data=payload,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_client_disconnect_stops_generation(backend: RunningBackend, client: openai.OpenAI) -> None:
    host, port = backend.url.removeprefix("http://").split(":")
    body = json.dumps(
        {
            "model": CHAT_MODEL_ID,
            "messages": [{"role": "user", "content": "Write a very long story about a lighthouse."}],
            "stream": True,
            "max_tokens": 1500,
        }
    ).encode()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {API_KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        received = b""
        while received.count(b"data:") < 4:
            received += sock.recv(4096)
    assert b"200 OK" in received
    # The next request is served only once the abandoned generation released the model.
    answer = client.chat.completions.create(
        model=CHAT_MODEL_ID, messages=[{"role": "user", "content": "Say yes."}], max_tokens=4, temperature=0
    )
    assert answer.choices[0].message.content
    assert "generation cancelled" in backend.log()


def test_embeddings_rank_paraphrases_above_unrelated_sentences(client: openai.OpenAI) -> None:
    texts = ["Turn on the kitchen light.", "Switch the lamp in the kitchen on.", "The stock market fell sharply."]
    result = client.embeddings.create(model=EMBEDDINGS_MODEL_ID, input=texts)  # the SDK asks for base64
    vectors = np.array([item.embedding for item in result.data])
    assert vectors.shape == (3, 384)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.6
    assert similarity[0, 1] > similarity[0, 2] + 0.4
    floats = client.embeddings.create(model=EMBEDDINGS_MODEL_ID, input=texts[0], encoding_format="float")
    assert np.allclose(floats.data[0].embedding, vectors[0], atol=1e-6)


def test_embeddings_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=EMBEDDINGS_MODEL_ID, input=[])
