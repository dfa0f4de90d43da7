"""HTTP client for the HavenCore backend: its own info, history, memory and document routes and the chat API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from .const import (
    CHAT_PATH,
    CHAT_TIMEOUT,
    CONNECT_TIMEOUT,
    DOCUMENTS_PATH,
    EMBEDDINGS_PATH,
    HISTORY_PATH,
    INFO_PATH,
    INGEST_TIMEOUT,
    MEMORIES_PATH,
    MODELS_PATH,
    TOKENIZE_PATH,
)


class HavenCoreError(Exception):
    """Base error of the backend client."""


class HavenCoreConnectionError(HavenCoreError):
    """The backend could not be reached, went away, or answered with something that is not HavenCore."""


class HavenCoreTimeoutError(HavenCoreConnectionError):
    """The backend did not finish answering in time: busy rather than gone."""


class HavenCoreAuthError(HavenCoreError):
    """The backend rejected the API key."""


class HavenCoreResponseError(HavenCoreError):
    """The backend understood the request but refused or failed it (an OpenAI-style error body)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        # The error body's machine-readable code, e.g. ``context_length_exceeded``.
        self.code = code


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What ``GET /v1/havencore/info`` tells about a backend."""

    instance_id: str
    version: str
    wyoming_stt_port: int
    wyoming_tts_port: int
    capabilities: frozenset[str]
    # Ids in /v1/models: the chat model (the agents' default) and the embeddings model (never a chat choice).
    chat_model: str | None
    embeddings_model: str | None
    # Tokens the chat model's context window holds; None from a backend that does not say.
    chat_context_length: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> BackendInfo:
        """Parses the info body, e.g. ``{"instance_id": "3f2a…", "version": "0.1.0", "wyoming": {...}, ...}``."""
        try:
            wyoming = data["wyoming"]
            return cls(
                instance_id=str(data["instance_id"]),
                version=str(data["version"]),
                wyoming_stt_port=int(wyoming["stt_port"]),
                wyoming_tts_port=int(wyoming["tts_port"]),
                capabilities=frozenset(str(item) for item in data["capabilities"]),
                chat_model=data.get("chat_model"),
                embeddings_model=data.get("embeddings_model"),
                chat_context_length=int(data["chat_context_length"]) if data.get("chat_context_length") else None,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise HavenCoreConnectionError(f"Unexpected answer from the backend: {err!r}") from err


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation the backend keeps, without its turns."""

    id: str
    device_id: str
    updated_at: float


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """The words of one stored turn and its tool calls, e.g. ``{"id": "01J…", "name": "HassTurnOn", "arguments":
    {"name": "Kitchen light"}, "result": {"response_type": "action_done", ...}}``."""

    user_text: str
    assistant_text: str
    tool_calls: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> StoredTurn:
        """Parses one turn of ``GET /v1/havencore/history/{id}``."""
        calls = data.get("tool_calls") or ()
        return cls(
            user_text=str(data["user_text"]),
            assistant_text=str(data["assistant_text"]),
            tool_calls=tuple(call for call in calls if isinstance(call, dict) and isinstance(call.get("name"), str)),
        )


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """A memory of a user; ``score`` is its similarity to the query when it came from a search."""

    id: str
    user_id: str
    kind: str
    text: str
    score: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> MemoryRecord:
        """Parses ``{"object": "memory", "id": "…", "user_id": "…", "kind": "fact", "text": "…", "score": 0.71}``."""
        score = data.get("score")
        return cls(
            id=str(data["id"]),
            user_id=str(data["user_id"]),
            kind=str(data["kind"]),
            text=str(data["text"]),
            score=None if score is None else float(score),
        )


@dataclass(frozen=True, slots=True)
class TokenCount:
    """What ``POST /v1/havencore/tokenize`` answers: the prompt's tokens and the model's window."""

    count: int
    window: int


@dataclass(frozen=True, slots=True)
class PassageMatch:
    """A passage of an ingested document found by a search."""

    document_id: str
    title: str
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class IngestedDocument:
    """A document the backend has chunked and embedded."""

    id: str
    chunks: int


def _parsed[T](parse: Callable[[Any], T], body: Any) -> T:
    """``parse(body)``, with a malformed body reported as a backend that does not speak HavenCore."""
    try:
        return parse(body)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise HavenCoreConnectionError(f"Unexpected answer from the backend: {err!r}") from err


def _error_message(body: Any, status: int) -> str:
    """The message of an OpenAI-style error body, e.g. ``{"error": {"message": "model not found", ...}}``."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or f"HTTP {status}")
    return f"HTTP {status}"


def _error_code(body: Any) -> str | None:
    """The code of an OpenAI-style error body, e.g. ``"context_length_exceeded"``."""
    if isinstance(body, dict) and isinstance(error := body.get("error"), dict) and error.get("code"):
        return str(error["code"])
    return None


def response_error(status: int, body: Any) -> HavenCoreResponseError:
    """The error an OpenAI-style error body describes."""
    return HavenCoreResponseError(status, _error_message(body, status), _error_code(body))


def parse_sse_line(line: bytes) -> dict[str, Any] | None:
    """Decodes one server-sent-events line of a chat stream; ``None`` for keep-alives, comments and ``[DONE]``.

    Lines look like ``data: {"choices": [{"delta": {"content": "Hi"}, "index": 0}], ...}``.
    """
    text = line.decode("utf-8").strip()
    if not text.startswith("data:"):
        return None
    payload = text.removeprefix("data:").strip()
    if payload == "[DONE]":
        return None
    try:
        chunk = json.loads(payload)
    except ValueError as err:
        raise HavenCoreConnectionError(f"Unreadable stream chunk from the backend: {payload[:200]!r}") from err
    if not isinstance(chunk, dict):
        raise HavenCoreConnectionError(f"Unexpected stream chunk from the backend: {payload[:200]!r}")
    if "error" in chunk:
        raise response_error(500, chunk)
    return chunk


class HavenCoreClient:
    """Talks to one backend through Home Assistant's shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key

    @property
    def host(self) -> str:
        """The backend's host name, which also serves its Wyoming ports."""
        host = URL(self.base_url).host
        return host or "127.0.0.1"

    @property
    def headers(self) -> dict[str, str]:
        """Request headers, with the bearer key when one is configured."""
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    async def _get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self._request_json("GET", path, params=params)

    async def _request_json(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        time_limit: float = CONNECT_TIMEOUT,
    ) -> Any:
        try:
            async with asyncio.timeout(time_limit):
                async with self._session.request(
                    method, self.base_url + path, json=body, params=params, headers=self.headers
                ) as response:
                    answer = await response.json(content_type=None)
                    self._raise_for_status(response.status, answer)
                    return answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise self._lost(err) from err

    def _lost(self, err: Exception) -> HavenCoreConnectionError:
        """The error for a request that got no usable answer: a timeout (busy) or a lost connection."""
        if isinstance(err, TimeoutError):
            return HavenCoreTimeoutError(f"The backend at {self.base_url} did not answer in time")
        return HavenCoreConnectionError(f"Cannot reach the backend at {self.base_url}: {err!r}")

    @staticmethod
    def _raise_for_status(status: int, body: Any) -> None:
        if status == 401:
            raise HavenCoreAuthError("The backend rejected the API key")
        if status == 404 and not isinstance(body, dict):
            raise HavenCoreConnectionError("No HavenCore backend at this URL")
        if status >= 400:
            raise response_error(status, body)

    async def async_get_info(self) -> BackendInfo:
        """Fetches the backend's identity and capabilities."""
        try:
            return BackendInfo.from_json(await self._get_json(INFO_PATH))
        except HavenCoreResponseError as err:
            raise HavenCoreConnectionError(f"No HavenCore backend at this URL ({err})") from err

    async def async_list_models(self) -> list[str]:
        """Ids of the chat models the backend serves, its default first."""
        body = await self._get_json(MODELS_PATH)
        return _parsed(lambda data: [str(model["id"]) for model in data["data"]], body)

    async def async_embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """One embedding vector per text, from ``POST /v1/embeddings``."""
        try:
            async with asyncio.timeout(CHAT_TIMEOUT):
                async with self._session.post(
                    self.base_url + EMBEDDINGS_PATH, json={"model": model, "input": texts}, headers=self.headers
                ) as response:
                    body = await response.json(content_type=None)
                    self._raise_for_status(response.status, body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise self._lost(err) from err
        try:
            vectors = sorted(body["data"], key=lambda item: int(item["index"]))
            return [[float(value) for value in item["embedding"]] for item in vectors]
        except (KeyError, TypeError, ValueError) as err:
            raise HavenCoreConnectionError(f"Unexpected embeddings from the backend: {err!r}") from err

    async def async_count_tokens(self, body: dict[str, Any]) -> TokenCount | None:
        """The prompt tokens of a chat request (``messages``, ``tools``) or of a ``prompt`` text, counted with the
        model's own tokenizer; ``None`` when the backend cannot count (an upstream engine, an older backend)."""
        try:
            # Part of a turn, as the chat request is: a host busy generating may take a while to count a long prompt.
            answer = await self._request_json("POST", TOKENIZE_PATH, body=body, time_limit=CHAT_TIMEOUT)
        except HavenCoreResponseError as err:
            if err.status in (404, 405, 501) and err.code != "model_not_found":
                return None
            raise
        return _parsed(lambda data: TokenCount(int(data["count"]), int(data["max_model_len"])), answer)

    async def async_stream_chat(self, payload: dict[str, Any]) -> AsyncGenerator[dict[str, Any]]:
        """Streams an OpenAI-style chat completion, yielding each decoded chunk; the last one carries the usage."""
        try:
            async with asyncio.timeout(CHAT_TIMEOUT):
                async with self._session.post(
                    self.base_url + CHAT_PATH,
                    json={**payload, "stream": True, "stream_options": {"include_usage": True}},
                    headers=self.headers,
                ) as response:
                    if response.status >= 400:
                        self._raise_for_status(response.status, await response.json(content_type=None))
                    async for line in response.content:
                        if (chunk := parse_sse_line(line)) is not None:
                            yield chunk
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise self._lost(err) from err

    async def async_append_turn(self, conversation_id: str, turn: dict[str, Any]) -> None:
        """Stores one turn (``user_id``, ``user_text``, ``assistant_text``, ...) in a conversation."""
        await self._request_json("POST", f"{HISTORY_PATH}/{quote(conversation_id, safe='')}/turns", body=turn)

    async def async_list_conversations(
        self, user_id: str, device_id: str | None = None, since: float | None = None, limit: int = 50
    ) -> list[ConversationSummary]:
        """A user's conversations (on one device, updated since a Unix time), latest update first."""
        params = {"user_id": user_id, "limit": str(limit)}
        if device_id:
            params["device_id"] = device_id
        if since is not None:
            params["since"] = str(since)
        body = await self._get_json(HISTORY_PATH, params)
        return _parsed(
            lambda data: [
                ConversationSummary(str(item["id"]), str(item["device_id"]), float(item["updated_at"]))
                for item in data["data"]
            ],
            body,
        )

    async def async_get_turns(self, conversation_id: str) -> list[StoredTurn]:
        """The turns of a conversation in order."""
        body = await self._get_json(f"{HISTORY_PATH}/{quote(conversation_id, safe='')}")
        return _parsed(
            lambda data: [StoredTurn.from_json(turn) for turn in data["turns"]],
            body,
        )

    async def async_delete_history(self, user_id: str) -> int:
        """Deletes every conversation of a user; returns how many there were."""
        body = await self._request_json("DELETE", HISTORY_PATH, params={"user_id": user_id})
        return _parsed(lambda data: int(data["conversations"]), body)

    async def async_add_memory(self, user_id: str, text: str, kind: str) -> MemoryRecord:
        """Embeds and stores a memory of a user."""
        body = await self._request_json("POST", MEMORIES_PATH, body={"user_id": user_id, "text": text, "kind": kind})
        return _parsed(MemoryRecord.from_json, body)

    async def async_search_memories(self, user_id: str, query: str, limit: int) -> list[MemoryRecord]:
        """A user's memories closest in meaning to ``query``, best first, with their scores."""
        body = await self._request_json(
            "POST", f"{MEMORIES_PATH}/search", body={"user_id": user_id, "query": query, "limit": limit}
        )
        return _parsed(lambda data: [MemoryRecord.from_json(item) for item in data["data"]], body)

    async def async_get_memory(self, memory_id: str) -> MemoryRecord:
        """One memory; a ``HavenCoreResponseError`` with status 404 when there is none."""
        return _parsed(MemoryRecord.from_json, await self._get_json(f"{MEMORIES_PATH}/{quote(memory_id, safe='')}"))

    async def async_delete_memory(self, memory_id: str) -> None:
        """Deletes a memory; a ``HavenCoreResponseError`` with status 404 when there is none."""
        await self._request_json("DELETE", f"{MEMORIES_PATH}/{quote(memory_id, safe='')}")

    async def async_ingest_document(
        self, title: str, media_type: str, *, text: str | None = None, content_base64: str | None = None
    ) -> IngestedDocument:
        """Chunks, embeds and stores a document given as ``text`` or, for PDFs, ``content_base64``."""
        request: dict[str, Any] = {"title": title, "media_type": media_type}
        if text is not None:
            request["text"] = text
        if content_base64 is not None:
            request["content_base64"] = content_base64
        body = await self._request_json("POST", DOCUMENTS_PATH, body=request, time_limit=INGEST_TIMEOUT)
        return _parsed(lambda data: IngestedDocument(str(data["id"]), int(data["chunks"])), body)

    async def async_search_documents(self, query: str, limit: int) -> list[PassageMatch]:
        """The document passages closest in meaning to ``query``, best first."""
        body = await self._request_json("POST", f"{DOCUMENTS_PATH}/search", body={"query": query, "limit": limit})
        return _parsed(
            lambda data: [
                PassageMatch(str(item["document_id"]), str(item["title"]), str(item["text"]), float(item["score"]))
                for item in data["data"]
            ],
            body,
        )
