"""llama.cpp through llama-cpp-python: a GGUF model in this process, for CPU hosts.

One ``Llama`` object serves every request, one at a time. Keeping it means llama.cpp reuses the KV cache of the
longest prompt prefix shared with the previous turn, so a long system prompt is computed once, not every turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from havencore_backend.components import ComponentState, ComponentStatus

from .engine import ChatDelta, ChatEngineUnavailableError, ChatRequest, ChatRequestError, JSONObject

_LOGGER = logging.getLogger(__name__)
_RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0)


@dataclass(frozen=True, slots=True)
class GGUFSource:
    """Where the GGUF comes from: a local file, or a Hugging Face repo id and file name downloaded into ``cache``."""

    model: str
    file: str = ""
    cache: Path | None = None

    def describe(self) -> str:
        """Human-readable origin, for logs and /health."""
        return f"{self.model}/{self.file}" if self.file else self.model


def _template_messages(messages: list[JSONObject]) -> list[JSONObject]:
    """Chat templates expect tool-call arguments as objects where OpenAI sends JSON strings."""
    shaped: list[JSONObject] = []
    for message in messages:
        calls = message.get("tool_calls")
        if calls:
            message = {
                **message,
                "tool_calls": [
                    {
                        **call,
                        "function": {**call["function"], "arguments": _json_or_text(call["function"]["arguments"])},
                    }
                    for call in calls
                ],
            }
        shaped.append(message)
    return shaped


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _forced_call_schema(request: ChatRequest) -> JSONObject | None:
    """With ``tool_choice`` "required" or a named function, the answer must be one call: a schema for it."""
    choice = request.tool_choice
    if choice in ("auto", "none") or not request.tools:
        return None
    tools = [tool["function"] for tool in request.tools]
    if isinstance(choice, dict):
        tools = [tool for tool in tools if tool["name"] == choice["function"]["name"]]
    options: list[JSONObject] = [
        {
            "type": "object",
            "properties": {
                "name": {"const": tool["name"]},
                "arguments": tool.get("parameters") or {"type": "object"},
            },
            "required": ["name", "arguments"],
        }
        for tool in tools
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}


class LlamaCppChatEngine:
    """A GGUF chat model run by llama.cpp; also the background service that loads it (and retries on failure)."""

    name = "llm-llamacpp"

    def __init__(self, source: GGUFSource, model_id: str, context_length: int, threads: int) -> None:
        self._source = source
        self._model_id = model_id
        self._context_length = context_length
        self._threads = threads
        self._status = ComponentStatus(ComponentState.LOADING, f"loading {source.describe()}")
        self._llama: Any = None
        self._formatter: Any = None
        # llama.cpp contexts are not thread-safe: one generation at a time. The worker thread itself holds the lock,
        # so a request abandoned mid-generation keeps the model until its thread has really stopped.
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The model name clients use."""
        return self._model_id

    def status(self) -> ComponentStatus:
        """LOADING until the model is in memory, ERROR while it cannot be loaded."""
        return self._status

    def _load(self) -> tuple[Any, Any]:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        options: dict[str, Any] = {"n_ctx": self._context_length, "verbose": False}
        if self._threads:
            options |= {"n_threads": self._threads, "n_threads_batch": self._threads}
        if self._source.file:
            llama = Llama.from_pretrained(
                self._source.model, self._source.file, cache_dir=self._source.cache, **options
            )
        else:
            if not Path(self._source.model).is_file():
                raise FileNotFoundError(f"no GGUF file at {self._source.model}")
            llama = Llama(model_path=self._source.model, **options)
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("the GGUF has no chat template")
        eos = llama.token_eos()
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llama.detokenize([eos], special=True).decode(errors="replace"),
            bos_token=llama.detokenize([llama.token_bos()], special=True).decode(errors="replace"),
            stop_token_ids=[eos],
        )
        return llama, formatter

    async def run(self) -> None:
        """Loads the model off the event loop, retrying with back-off, then stays until cancelled."""
        attempt = 0
        while self._llama is None:
            self._status = ComponentStatus(ComponentState.LOADING, f"loading {self._source.describe()}")
            try:
                self._llama, self._formatter = await asyncio.to_thread(self._load)
            except Exception as err:  # any load failure is reported, then retried
                delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
                attempt += 1
                message = f"cannot load {self._source.describe()}: {err}; retrying in {delay:.0f} s"
                self._status = ComponentStatus(ComponentState.ERROR, message)
                _LOGGER.error("llama.cpp %s", message)
                await asyncio.sleep(delay)
        self._status = ComponentStatus(ComponentState.OK, f"{self._model_id}, context {self._context_length}")
        _LOGGER.info("llama.cpp model %s loaded from %s", self._model_id, self._source.describe())
        await asyncio.Event().wait()

    def _grammar(self, request: ChatRequest) -> Any:
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        schema = _forced_call_schema(request)
        param = "tool_choice"
        if schema is None and request.json_schema is not None:
            schema, param = request.json_schema, "response_format"
        if schema is None:
            return None
        if not schema:
            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        try:
            return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        except Exception as err:  # the converter raises assorted errors on schemas it cannot express
            raise ChatRequestError(f"unsupported JSON schema: {err}", code="invalid_json_schema", param=param) from err

    def _prompt(self, request: ChatRequest) -> tuple[Any, list[int]]:
        """The request in the model's chat template (with the tools it may call), and its tokens."""
        offer_tools = request.tools and request.tool_choice == "auto"
        formatted = self._formatter(
            messages=_template_messages(request.messages), tools=request.tools if offer_tools else None
        )
        tokens: list[int] = self._llama.tokenize(
            formatted.prompt.encode(), add_bos=not formatted.added_special, special=True
        )
        return formatted, tokens

    def count_prompt_tokens(self, request: ChatRequest) -> int:
        """The request's prompt length in tokens (its ``usage.prompt_tokens``), without generating; also for
        prompts longer than the context."""
        if self._llama is None:
            raise ChatEngineUnavailableError(f"The chat model is not available: {self._status.detail}")
        return len(self._prompt(request)[1])

    def _deltas(self, request: ChatRequest, grammar: Any, cancel: threading.Event) -> Iterator[ChatDelta]:
        """Formats and generates (blocking); stops early once ``cancel`` is set."""
        llama = self._llama
        formatted, prompt = self._prompt(request)
        if len(prompt) >= llama.n_ctx():
            raise ChatRequestError(
                f"This model's maximum context length is {llama.n_ctx()} tokens; the messages use {len(prompt)}.",
                code="context_length_exceeded",
                param="messages",
            )
        stop = [*request.stop, *([formatted.stop] if isinstance(formatted.stop, str) else formatted.stop or [])]
        chunks = llama.create_completion(
            prompt=prompt,
            max_tokens=request.max_tokens or -1,  # -1: up to the end of the context
            temperature=0.8 if request.temperature is None else request.temperature,
            top_p=0.95 if request.top_p is None else request.top_p,
            stop=stop,
            seed=request.seed,
            stream=True,
            stopping_criteria=formatted.stopping_criteria,
            grammar=grammar,
        )
        text: list[str] = []
        finish_reason = "stop"
        for chunk in chunks:
            if cancel.is_set():
                chunks.close()
                _LOGGER.info("llama.cpp generation cancelled after %d pieces", len(text))
                return
            choice = chunk["choices"][0]
            if choice["text"]:
                text.append(choice["text"])
                yield ChatDelta(text=choice["text"])
            finish_reason = choice["finish_reason"] or finish_reason
        completion = llama.tokenize("".join(text).encode(), add_bos=False, special=True) if text else []
        yield ChatDelta(finish_reason=finish_reason, prompt_tokens=len(prompt), completion_tokens=len(completion))

    def _generate(
        self,
        request: ChatRequest,
        grammar: Any,
        put: Callable[[ChatDelta | BaseException], None],
        cancel: threading.Event,
    ) -> None:
        """Runs in a worker thread and hands every piece, or the error, to ``put``."""
        with self._lock:
            if cancel.is_set():
                return
            try:
                for delta in self._deltas(request, grammar, cancel):
                    put(delta)
            except BaseException as err:  # handed to the event loop, which raises it in the request
                put(err)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatDelta]:
        """Generates in a worker thread, passing pieces through a queue; closing early cancels the generation."""
        if self._llama is None:
            raise ChatEngineUnavailableError(f"The chat model is not available: {self._status.detail}")
        grammar = self._grammar(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatDelta | BaseException] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: ChatDelta | BaseException) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        # Not awaited: the thread ends on its own once ``cancel`` is set, even when this request is torn down.
        loop.run_in_executor(None, self._generate, request, grammar, put, cancel)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            cancel.set()
