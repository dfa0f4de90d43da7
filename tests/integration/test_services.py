"""The memory actions against the real backend: what they return, and the translated errors for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import intent
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.havencore.const import DOMAIN
from tests.backend_process import RunningBackend, http_get, start_backend
from tests.documents import pdf_document
from tests.integration.agent_setup import AGENT, async_set_up_agent
from tests.integration.conftest import API_KEY
from tests.integration.home import async_set_up_home
from tests.integration.test_memory_context import QUICK_LLM


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], user: MockUser | None = None, *, response: bool = True
) -> ServiceResponse:
    return await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        context=Context(user_id=user.id if user else None),
        return_response=response,
    )


async def _recall(hass: HomeAssistant, query: str, user: MockUser) -> list[dict[str, Any]]:
    answer = await _call(hass, "recall", {"query": query}, user)
    assert answer is not None
    memories: list[dict[str, Any]] = answer["memories"]  # type: ignore[assignment]
    return memories


async def test_remember_recall_and_forget(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser, hass_read_only_user: MockUser
) -> None:
    hass = hass_with_core
    entry = await async_set_up_agent(hass, backend.url, API_KEY)

    stored = await _call(
        hass,
        "remember",
        {"text": "The spare key is under the blue pot.", "config_entry_id": entry.entry_id},
        hass_admin_user,
    )
    assert stored is not None
    # An admin's automation may write into another user's memory.
    await _call(
        hass,
        "remember",
        {"text": "I walk the dog at seven.", "kind": "routine", "user_id": hass_read_only_user.id},
        hass_admin_user,
    )

    [best, *_] = await _recall(hass, "Where is the spare key?", hass_admin_user)
    assert best["memory_id"] == stored["memory_id"]
    assert (best["text"], best["kind"]) == ("The spare key is under the blue pot.", "fact")
    assert best["score"] > 0.5
    [walk] = await _recall(hass, "When do I walk the dog?", hass_read_only_user)
    assert walk["kind"] == "routine"
    # Anyone else may not read an admin's memory.
    with pytest.raises(Unauthorized):
        await _call(hass, "recall", {"query": "spare key", "user_id": hass_admin_user.id}, hass_read_only_user)

    assert await _call(hass, "forget", {"memory_id": stored["memory_id"]}, response=False) is None
    assert all(
        memory["memory_id"] != stored["memory_id"] for memory in await _recall(hass, "spare key", hass_admin_user)
    )
    for missing in (stored["memory_id"], "not-an-id"):
        with pytest.raises(ServiceValidationError, match="There is no memory with the id"):
            await _call(hass, "forget", {"memory_id": missing}, response=False)


async def test_input_is_validated(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    entry = await async_set_up_agent(hass, backend.url, API_KEY)

    with pytest.raises(ServiceValidationError, match="is not a Home Assistant user id"):
        await _call(hass, "remember", {"text": "hello", "user_id": "nobody"})
    with pytest.raises(ServiceValidationError, match="is not a HavenCore config entry"):
        await _call(hass, "recall", {"query": "hello", "config_entry_id": "nope"})
    with pytest.raises(vol.Invalid):
        await _call(hass, "remember", {"text": "hello", "kind": "gossip"})
    with pytest.raises(vol.Invalid):
        await _call(hass, "recall", {"query": ""})
    with pytest.raises(vol.Invalid):
        await _call(hass, "ingest_document", {"title": "Both", "text": "a", "path": "/tmp/a.txt"})
    with pytest.raises(vol.Invalid):
        await _call(hass, "ingest_document", {"title": "Neither"})

    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError, match=f"{entry.entry_id} is not loaded"):
        await _call(hass, "recall", {"query": "hello", "config_entry_id": entry.entry_id})
    with pytest.raises(ServiceValidationError, match="No HavenCore backend is set up"):
        await _call(hass, "clear_history", {})


async def test_ingest_documents_from_text_and_allowed_files(
    hass_with_core: HomeAssistant, backend: RunningBackend, tmp_path: Path
) -> None:
    hass = hass_with_core
    await async_set_up_agent(hass, backend.url, API_KEY)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    (tmp_path / "garden.md").write_text("# Garden\n\nThe sprinklers run at six in the morning from May to September.")
    (tmp_path / "router.pdf").write_bytes(pdf_document(["To reset the router, hold its button for ten seconds."]))
    (tmp_path / "empty.txt").write_text("")

    from_text = await _call(hass, "ingest_document", {"title": "Bins", "text": "Green bins go out on Tuesday."})
    from_markdown = await _call(hass, "ingest_document", {"title": "Garden", "path": str(tmp_path / "garden.md")})
    from_pdf = await _call(hass, "ingest_document", {"title": "Router", "path": str(tmp_path / "router.pdf")})

    for answer in (from_text, from_markdown, from_pdf):
        assert answer is not None
        assert answer["chunks"] == 1
    status, documents = http_get(f"{backend.url}/v1/havencore/documents", API_KEY)
    assert status == 200
    kinds = {document["id"]: document["media_type"] for document in documents["data"]}
    assert from_markdown is not None
    assert kinds[from_markdown["document_id"]] == "text/markdown"
    assert from_pdf is not None
    assert kinds[from_pdf["document_id"]] == "application/pdf"

    with pytest.raises(ServiceValidationError, match="A PDF cannot be given as text"):
        await _call(hass, "ingest_document", {"title": "x", "text": "x", "media_type": "application/pdf"})
    for path in ("/etc/hostname", "relative.txt"):
        with pytest.raises(ServiceValidationError, match="is not an absolute path in a folder"):
            await _call(hass, "ingest_document", {"title": "x", "path": path})
    with pytest.raises(ServiceValidationError, match="Cannot read"):
        await _call(hass, "ingest_document", {"title": "x", "path": str(tmp_path / "missing.txt")})
    with pytest.raises(ServiceValidationError, match="cannot use this document"):
        await _call(hass, "ingest_document", {"title": "x", "path": str(tmp_path / "empty.txt")})


async def test_clear_history_removes_the_users_conversations(
    hass_with_core: HomeAssistant, backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await async_set_up_agent(hass, backend.url, API_KEY)
    for device_id in ("kitchen", "hall"):  # one conversation on each
        await conversation.async_converse(
            hass,
            "turn on the kitchen light",
            None,
            Context(user_id=hass_admin_user.id),
            agent_id=AGENT,
            device_id=device_id,
        )
    await hass.async_block_till_done(wait_background_tasks=True)

    cleared = await _call(hass, "clear_history", {"user_id": hass_admin_user.id})

    assert cleared == {"user_id": hass_admin_user.id, "conversations": 2}
    status, history = http_get(f"{backend.url}/v1/havencore/history?user_id={hass_admin_user.id}", API_KEY)
    assert (status, history["data"]) == (200, [])


@pytest.fixture
def broken_memory_backend(tmp_path: Path, socket_enabled: None) -> Iterator[RunningBackend]:
    """A backend whose embeddings model cannot load, so its memory refuses every request."""
    running = start_backend(
        tmp_path / "data", api_key=API_KEY, extra_args=("--embeddings-model", str(tmp_path)), wait_until_loaded=True
    )
    yield running
    running.stop()


async def test_backend_failures_are_translated(
    hass_with_core: HomeAssistant, broken_memory_backend: RunningBackend, hass_admin_user: MockUser
) -> None:
    hass = hass_with_core
    await async_set_up_agent(hass, broken_memory_backend.url, API_KEY, **QUICK_LLM)

    with pytest.raises(HomeAssistantError, match=r"^Sorry, the HavenCore backend is busy or still loading its model"):
        await _call(hass, "remember", {"text": "hello"})
    # A turn goes on without memories.
    result = await conversation.async_converse(
        hass, "Whose is the guest room?", None, Context(user_id=hass_admin_user.id), agent_id=AGENT
    )
    assert result.response.response_type is not intent.IntentResponseType.ERROR

    # The same port now answers with another key, then not at all.
    broken_memory_backend.stop()
    port = int(broken_memory_backend.url.rsplit(":", 1)[1])
    other_key = start_backend(broken_memory_backend.data_dir, api_key="another-key", port=port)
    try:
        with pytest.raises(HomeAssistantError, match="rejected the API key"):
            await _call(hass, "clear_history", {})
        await hass.async_block_till_done()
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    finally:
        other_key.stop()
    with pytest.raises(HomeAssistantError, match="can't reach the HavenCore backend"):
        await _call(hass, "recall", {"query": "hello"})
