"""``/v1/havencore/documents``: ingest, list, search and delete documents for retrieval."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from havencore_backend.embeddings.engine import EmbeddingsUnavailableError
from havencore_backend.memory.document_text import UnreadableDocumentError, document_text
from havencore_backend.memory.documents import QdrantDocumentStore

from .errors import APIError
from .stores import available, memory_stores, model_unavailable

router = APIRouter(tags=["documents"])  # included by the memory router, under /v1/havencore

_MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class DocumentRequest(BaseModel):
    """A document to ingest: ``text`` for text and markdown, or ``content_base64`` (required for PDFs)."""

    title: Annotated[str, Field(min_length=1, max_length=256)]
    media_type: Literal["text/plain", "text/markdown", "application/pdf"] = "text/plain"
    text: str | None = Field(None, max_length=_MAX_DOCUMENT_BYTES)
    content_base64: str | None = Field(None, max_length=_MAX_DOCUMENT_BYTES * 4 // 3 + 4)


class DocumentSearch(BaseModel):
    """A semantic search over every document's passages."""

    query: Annotated[str, Field(min_length=1, max_length=8000)]
    limit: int = Field(5, ge=1, le=50)


def _documents(request: Request) -> QdrantDocumentStore:
    stores = memory_stores(request)
    return available(stores.documents, "document store", stores.memory_status)


def _content(body: DocumentRequest) -> bytes:
    if (body.text is None) == (body.content_base64 is None):
        raise APIError(400, "Give exactly one of text and content_base64.", param="text", code="invalid_value")
    if body.text is not None:
        if body.media_type == "application/pdf":
            raise APIError(400, "Send PDFs as content_base64.", param="content_base64", code="invalid_value")
        return body.text.encode()
    try:
        return base64.b64decode(body.content_base64 or "", validate=True)
    except binascii.Error as err:
        raise APIError(
            400, "content_base64 is not valid base64.", param="content_base64", code="invalid_value"
        ) from err


@router.post("/documents")
async def ingest_document(body: DocumentRequest, request: Request) -> dict[str, Any]:
    """Reads, chunks, embeds and stores a document; returns its id and chunk count."""
    store = _documents(request)
    try:
        text = await asyncio.to_thread(document_text, body.media_type, _content(body))
        info = await store.ingest(body.title, body.media_type, text)
    except UnreadableDocumentError as err:
        raise APIError(
            400, f"The document cannot be read: {err}.", param="content_base64", code="invalid_value"
        ) from err
    except EmbeddingsUnavailableError as err:
        raise model_unavailable(err) from err
    except ValueError as err:  # no text in it
        raise APIError(400, f"The document is empty: {err}.", param="text", code="invalid_value") from err
    return {"object": "document", **dataclasses.asdict(info)}


@router.get("/documents")
async def list_documents(request: Request) -> dict[str, Any]:
    """Every ingested document, oldest first."""
    infos = await _documents(request).list_documents()
    return {"object": "list", "data": [{"object": "document", **dataclasses.asdict(info)} for info in infos]}


@router.post("/documents/search")
async def search_documents(body: DocumentSearch, request: Request) -> dict[str, Any]:
    """The passages closest in meaning to the query, best first, with their document and similarity."""
    try:
        passages = await _documents(request).search(body.query, body.limit)
    except EmbeddingsUnavailableError as err:
        raise model_unavailable(err) from err
    return {"object": "list", "data": [{"object": "passage", **dataclasses.asdict(p)} for p in passages]}


@router.delete("/documents/{document_id}")
async def delete_document(document_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Deletes a document and its passages."""
    if not await _documents(request).delete(str(document_id)):
        raise APIError(404, "No document with that id.", error_type="not_found_error", param="document_id")
    return {"object": "document.deleted", "id": str(document_id), "deleted": True}
