"""History and memory endpoints on a real backend process: shapes, errors, isolation and retrieval quality."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.backend.conftest import API_KEY
from tests.backend.memory_backend import start_memory_backend
from tests.backend_process import RunningBackend, http_json
from tests.documents import pdf_document


@pytest.fixture(scope="module")
def memory_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """A backend with the default embedded stores (SQLite, Qdrant local mode), ready to serve them."""
    running = start_memory_backend(tmp_path_factory.mktemp("memory"), api_key=API_KEY)
    yield running
    running.stop()


def _call(backend: RunningBackend, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return http_json(method, f"{backend.url}/v1/havencore{path}", API_KEY, body)


def _ok(backend: RunningBackend, method: str, path: str, body: Any = None) -> Any:
    status, answer = _call(backend, method, path, body)
    assert status == 200, answer
    return answer


def _turn(user: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"user_id": user, "user_text": text, "assistant_text": f"reply to {text}", **extra}


def test_turns_are_listed_fetched_and_deleted(memory_backend: RunningBackend) -> None:
    turn = _turn(
        "anna",
        "turn on the kitchen light",
        device_id="sat-kitchen",
        agent="conversation.havencore",
        language="en",
        tool_calls=[{"name": "HassTurnOn", "arguments": {"name": "kitchen"}, "result": "ok"}],
        timings={"llm_ms": 640.0},
        trace_id="t-1",
    )
    first = _ok(memory_backend, "POST", "/history/conv-1/turns", turn)
    assert (first["object"], first["seq"], first["conversation_id"]) == ("conversation.turn", 1, "conv-1")
    assert _ok(memory_backend, "POST", "/history/conv-1/turns", _turn("anna", "and dim it"))["seq"] == 2

    listed = _ok(memory_backend, "GET", "/history?user_id=anna&device_id=sat-kitchen")["data"]
    assert [(c["id"], c["turn_count"]) for c in listed] == [("conv-1", 2)]
    conversation = _ok(memory_backend, "GET", "/history/conv-1")
    assert [t["user_text"] for t in conversation["turns"]] == ["turn on the kitchen light", "and dim it"]
    assert conversation["turns"][0]["tool_calls"] == turn["tool_calls"]
    assert conversation["turns"][0]["timings"] == {"llm_ms": 640.0}

    assert _ok(memory_backend, "DELETE", "/history/conv-1")["deleted"] is True
    status, body = _call(memory_backend, "GET", "/history/conv-1")
    assert (status, body["error"]["type"], body["error"]["param"]) == (404, "not_found_error", "conversation_id")


def test_conversations_of_other_users_stay_apart(memory_backend: RunningBackend) -> None:
    _ok(memory_backend, "POST", "/history/ben-1/turns", _turn("ben", "hello"))
    status, body = _call(memory_backend, "POST", "/history/ben-1/turns", _turn("carl", "let me in"))
    assert (status, body["error"]["code"]) == (409, "conversation_owner")
    assert [c["id"] for c in _ok(memory_backend, "GET", "/history?user_id=carl")["data"]] == []
    assert _ok(memory_backend, "GET", "/history/ben-1")["turn_count"] == 1
    assert _ok(memory_backend, "DELETE", "/history?user_id=ben")["conversations"] == 1


def test_bad_input_gets_openai_style_errors(memory_backend: RunningBackend) -> None:
    for method, path, body, param in (
        ("POST", "/history/c/turns", {"user_text": "x", "assistant_text": "y"}, "user_id"),
        ("POST", "/memories", {"user_id": "anna", "text": ""}, "text"),
        ("POST", "/memories", {"user_id": "anna", "text": "x", "kind": "Not A Kind"}, "kind"),
        ("POST", "/memories/search", {"user_id": "anna", "query": "x", "limit": 0}, "limit"),
        ("GET", "/memories/not-a-uuid", None, "path.memory_id"),
        ("GET", "/memories", None, "query.user_id"),
    ):
        status, answer = _call(memory_backend, method, path, body)
        assert status == 400, (path, answer)
        assert answer["error"]["type"] == "invalid_request_error"
        assert answer["error"]["param"] == param
    missing = "/memories/00000000-0000-4000-8000-000000000000"
    assert _call(memory_backend, "DELETE", missing)[0] == 404
    assert _call(memory_backend, "PATCH", missing, {"text": "new"})[0] == 404
    assert http_json("GET", f"{memory_backend.url}/v1/havencore/history")[0] == 401


def test_memories_are_added_listed_updated_and_deleted(memory_backend: RunningBackend) -> None:
    added = _ok(memory_backend, "POST", "/memories", {"user_id": "dora", "text": "The guest room is Anna's"})
    assert (added["object"], added["kind"], added["user_id"]) == ("memory", "fact", "dora")
    pref = {"user_id": "dora", "text": "I like the bedroom at 19 °C", "kind": "preference"}
    preference = _ok(memory_backend, "POST", "/memories", pref)
    assert {m["id"] for m in _ok(memory_backend, "GET", "/memories?user_id=dora")["data"]} == {
        added["id"],
        preference["id"],
    }
    assert [m["id"] for m in _ok(memory_backend, "GET", "/memories?user_id=dora&kind=preference")["data"]] == [
        preference["id"]
    ]
    page = _ok(memory_backend, "GET", "/memories?user_id=dora&limit=1")
    assert len(page["data"]) == 1
    rest = _ok(memory_backend, "GET", f"/memories?user_id=dora&limit=1&offset={page['next_offset']}")
    assert {page["data"][0]["id"], rest["data"][0]["id"]} == {added["id"], preference["id"]}

    updated = _ok(memory_backend, "PATCH", f"/memories/{preference['id']}", {"text": "I like the bedroom at 21 °C"})
    assert updated["text"] == "I like the bedroom at 21 °C"
    assert updated["kind"] == "preference"
    found = _ok(memory_backend, "POST", "/memories/search", {"user_id": "dora", "query": "bedroom temperature"})
    assert found["data"][0]["id"] == preference["id"]
    assert found["data"][0]["text"] == "I like the bedroom at 21 °C"

    assert _ok(memory_backend, "DELETE", f"/memories/{added['id']}")["deleted"] is True
    assert _call(memory_backend, "GET", f"/memories/{added['id']}")[0] == 404
    after = {"user_id": "dora", "query": "x", "since": updated["updated_at"] + 3600}
    assert _ok(memory_backend, "POST", "/memories/search", after)["data"] == []


def test_the_right_memory_ranks_first_among_distractors(memory_backend: RunningBackend) -> None:
    facts = [
        "The guest room is Anna's",
        "I like the bedroom at 19 degrees",
        "The car is parked in the garage on the left",
        "My daughter is allergic to peanuts",
        "The wifi password is on the fridge",
        "Our dog is called Pixel and eats at six",
        "The recycling goes out on Tuesday evenings",
        "I prefer the living room lights warm and dim in the evening",
        "Grandma visits every second Sunday",
        "The boiler was serviced last March",
    ]
    ids = [_ok(memory_backend, "POST", "/memories", {"user_id": "erin", "text": text})["id"] for text in facts]
    for query, expected in (
        ("whose room is the guest room?", 0),
        ("what temperature do I want in the bedroom", 1),
        ("which food can my daughter not eat", 3),
        ("what is the name of our dog", 5),
        ("when do we take the recycling bins out", 6),
    ):
        ranked = _ok(memory_backend, "POST", "/memories/search", {"user_id": "erin", "query": query, "limit": 3})
        assert ranked["data"][0]["id"] == ids[expected], (query, [m["text"] for m in ranked["data"]])
        assert ranked["data"][0]["score"] > ranked["data"][1]["score"]


def test_memories_are_per_user_and_deleting_a_user_empties_both_stores(memory_backend: RunningBackend) -> None:
    _ok(memory_backend, "POST", "/memories", {"user_id": "fay", "text": "The spare key is under the blue pot"})
    _ok(memory_backend, "POST", "/memories", {"user_id": "gus", "text": "The spare key is with the neighbour"})
    _ok(memory_backend, "POST", "/history/fay-1/turns", _turn("fay", "where is the key"))
    found = _ok(memory_backend, "POST", "/memories/search", {"user_id": "gus", "query": "spare key", "limit": 10})
    assert [m["user_id"] for m in found["data"]] == ["gus"]

    deleted = _ok(memory_backend, "DELETE", "/users/fay")
    assert (deleted["conversations"], deleted["memories"]) == (1, 1)
    assert _ok(memory_backend, "GET", "/memories?user_id=fay")["data"] == []
    assert _ok(memory_backend, "GET", "/history?user_id=fay")["data"] == []
    assert len(_ok(memory_backend, "GET", "/memories?user_id=gus")["data"]) == 1


def test_endpoints_are_in_the_openapi_schema_and_info_lists_the_capabilities(memory_backend: RunningBackend) -> None:
    status, schema = http_json("GET", f"{memory_backend.url}/openapi.json", API_KEY)
    assert status == 200
    paths = schema["paths"]
    assert {"post"} <= set(paths["/v1/havencore/history/{conversation_id}/turns"])
    assert {"get", "delete"} <= set(paths["/v1/havencore/history"])
    assert {"get", "delete"} <= set(paths["/v1/havencore/history/{conversation_id}"])
    assert {"get", "post"} <= set(paths["/v1/havencore/memories"])
    assert {"get", "patch", "delete"} <= set(paths["/v1/havencore/memories/{memory_id}"])
    assert "post" in paths["/v1/havencore/memories/search"]
    assert "delete" in paths["/v1/havencore/users/{user_id}"]
    assert {"get", "post"} <= set(paths["/v1/havencore/documents"])
    assert "post" in paths["/v1/havencore/documents/search"]
    assert "delete" in paths["/v1/havencore/documents/{document_id}"]
    capabilities = http_json("GET", f"{memory_backend.url}/v1/havencore/info", API_KEY)[1]["capabilities"]
    assert {"history", "memory", "documents"} <= set(capabilities)


def test_documents_are_ingested_searched_and_deleted(memory_backend: RunningBackend) -> None:
    manual = (
        "# Boiler\n\nIf the boiler pressure drops below one bar, open the filling loop until the gauge shows 1.5 bar."
        "\n\n# Garden\n\nThe sprinklers run at six in the morning from May to September."
    )
    boiler = _ok(
        memory_backend, "POST", "/documents", {"title": "House manual", "media_type": "text/markdown", "text": manual}
    )
    assert (boiler["object"], boiler["chunks"]) == ("document", 2)
    recipe = _ok(
        memory_backend, "POST", "/documents", {"title": "Recipes", "text": "Pancakes need flour, eggs and milk."}
    )
    router_pdf = pdf_document(
        ["To reset the wifi router, hold the reset button", "for ten seconds until the light blinks."]
    )
    router = _ok(
        memory_backend,
        "POST",
        "/documents",
        {"title": "Router", "media_type": "application/pdf", "content_base64": base64.b64encode(router_pdf).decode()},
    )
    assert router["chunks"] == 1
    listed = _ok(memory_backend, "GET", "/documents")["data"]
    assert [d["id"] for d in listed] == [boiler["id"], recipe["id"], router["id"]]

    for query, document, needle in (
        ("how do I reset the wifi router", router["id"], "reset button"),
        ("the boiler pressure is too low", boiler["id"], "filling loop"),
        ("when do the sprinklers water the lawn", boiler["id"], "sprinklers"),
        ("what do I need to make pancakes", recipe["id"], "flour"),
    ):
        passages = _ok(memory_backend, "POST", "/documents/search", {"query": query, "limit": 3})["data"]
        assert passages[0]["document_id"] == document, (query, passages)
        assert needle in passages[0]["text"]

    assert _ok(memory_backend, "DELETE", f"/documents/{boiler['id']}")["deleted"] is True
    assert _call(memory_backend, "DELETE", f"/documents/{boiler['id']}")[0] == 404
    assert [d["id"] for d in _ok(memory_backend, "GET", "/documents")["data"]] == [recipe["id"], router["id"]]
    passages = _ok(memory_backend, "POST", "/documents/search", {"query": "boiler pressure", "limit": 10})["data"]
    assert boiler["id"] not in {p["document_id"] for p in passages}


def test_unreadable_documents_are_refused(memory_backend: RunningBackend) -> None:
    encoded = base64.b64encode(b"%PDF-1.4 this is not really a pdf").decode()
    for body, param in (
        ({"title": "t", "text": "x", "content_base64": "eA=="}, "text"),
        ({"title": "t", "media_type": "application/pdf", "text": "x"}, "content_base64"),
        ({"title": "t", "content_base64": "not base64!"}, "content_base64"),
        ({"title": "t", "media_type": "application/pdf", "content_base64": encoded}, "content_base64"),
        ({"title": "t", "text": "  \n\n  "}, "text"),
        ({"title": "t", "media_type": "image/png", "text": "x"}, "media_type"),
    ):
        status, answer = _call(memory_backend, "POST", "/documents", body)
        assert status == 400, (body, answer)
        assert answer["error"]["param"] == param, answer
