"""llama.cpp through llama-cpp-python: a GGUF model in this process, for CPU hosts.

One ``Llama`` object serves every request, one at a time. Keeping it means llama.cpp reuses the KV cache of the
longest prompt prefix shared with the previous turn, so a long system prompt is computed once, not every turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from havencore_backend.components import ComponentState, ComponentStatus

from .engine import (
    ChatDelta,
    ChatEngineUnavailableError,
    ChatRequest,
    ChatRequestError,
    JSONObject,
    TokenCount,
)
from .grammar_filter import GrammarError, GrammarFilter
from .llamacpp_log import printed_to_debug_log, route_llama_cpp_log
from .tool_calls import parse_tool_calls
from .tool_grammar import CALL_STARTS, PROSE_GRAMMAR, call_schema, tool_call_grammar, with_argument_values

_LOGGER = logging.getLogger(__name__)
_RETRY_DELAYS = (2.0, 5.0, 15.0, 60.0)
_CALL_STARTS = tuple(CALL_STARTS)


@dataclass(frozen=True, slots=True)
class GGUFSource:
    """Where the GGUF comes from: a local file, or a Hugging Face repo id and file name downloaded into ``cache``."""

    model: str
    file: str = ""
    cache: Path | None = None

    def describe(self) -> str:
        """Human-readable origin, for logs and /health."""
        return f"{self.model}/{self.file}" if self.file else self.model


def _available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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


def _repeats_answered_calls(request: ChatRequest, text: str) -> bool:
    """Whether every call in ``text`` was already made, with the same arguments, since the user last spoke."""
    calls = parse_tool_calls(text, frozenset(str(tool["function"]["name"]) for tool in request.tools)).tool_calls
    last_user = max((i for i, message in enumerate(request.messages) if message["role"] == "user"), default=-1)
    made = [
        (call["function"]["name"], _json_or_text(call["function"]["arguments"]))
        for message in request.messages[last_user + 1 :]
        for call in message.get("tool_calls") or ()
    ]
    return bool(calls) and all((call.name, json.loads(call.arguments)) in made for call in calls)


def _forced_call_schema(request: ChatRequest) -> JSONObject | None:
    """With ``tool_choice`` "required" or a named function, the answer must be one call: a schema for it."""
    choice = request.tool_choice
    if choice in ("auto", "none") or not request.tools:
        return None
    tools = request.tools
    if isinstance(choice, dict):
        tools = [tool for tool in tools if tool["function"]["name"] == choice["function"]["name"]]
    return call_schema(with_argument_values(tools, request.tool_argument_values))


class LlamaCppChatEngine:
    """A GGUF chat model run by llama.cpp; also the background service that loads it (and retries on failure)."""

    name = "llm-llamacpp"

    def __init__(
        self, source: GGUFSource, model_id: str, context_length: int, threads: int, *, tool_grammar: bool = True
    ) -> None:
        self._source = source
        self._tool_grammar = tool_grammar
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

    @property
    def context_length(self) -> int:
        """The configured context (``n_ctx``), known before the model loads."""
        return self._context_length

    def status(self) -> ComponentStatus:
        """LOADING until the model is in memory, ERROR while it cannot be loaded."""
        return self._status

    def _load(self) -> tuple[Any, Any]:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        # llama-cpp-python would generate on half the cores: decoding is memory-bound, but on small hosts the
        # second core still cut a 0.5B model's time per token by a fifth (2 cores: 58 -> 45 ms).
        threads = self._threads or _available_cores()
        # verbose=False would silence the whole process while the model loads; llama.cpp's log goes to ours instead.
        options: dict[str, Any] = {
            "n_ctx": self._context_length,
            "verbose": True,
            "n_threads": threads,
            "n_threads_batch": threads,
        }
        route_llama_cpp_log()
        with printed_to_debug_log():
            if self._source.file:
                llama = Llama.from_pretrained(
                    self._source.model, self._source.file, cache_dir=self._source.cache, **options
                )
            else:
                if not Path(self._source.model).is_file():
                    raise FileNotFoundError(f"no GGUF file at {self._source.model}")
                llama = Llama(model_path=self._source.model, **options)
        llama.verbose = False  # no report on stderr for every request
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

    def _uses_tool_grammar(self, request: ChatRequest) -> bool:
        """Whether tools are offered for the model to call or not (``auto``), under the tool-call grammar."""
        return (
            self._tool_grammar and bool(request.tools) and request.tool_choice == "auto" and request.json_schema is None
        )

    def _grammar(self, request: ChatRequest) -> GrammarFilter | None:
        """The grammar the answer must follow, if any: a forced call's or the response format's schema, or the
        tool-call grammar."""
        from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

        schema = _forced_call_schema(request)
        param = "tool_choice"
        if schema is None and request.json_schema is not None:
            schema, param = request.json_schema, "response_format"
        tool_calls = schema is None and self._uses_tool_grammar(request)
        if tool_calls:
            text, param = tool_call_grammar(with_argument_values(request.tools, request.tool_argument_values)), "tools"
        elif schema is None:
            return None
        else:
            try:
                text = json_schema_to_gbnf(json.dumps(schema)) if schema else JSON_GBNF
            except Exception as err:  # the converter raises assorted errors on schemas it cannot express
                raise ChatRequestError(
                    f"unsupported JSON schema: {err}", code="invalid_json_schema", param=param
                ) from err
        try:
            return GrammarFilter(self._llama, text, watch_forced=tool_calls)
        except GrammarError as err:
            code = "invalid_function_parameters" if tool_calls else "invalid_json_schema"
            raise ChatRequestError(f"unsupported schema: {err}", code=code, param=param) from err

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

    def count_prompt_tokens(self, prompt: ChatRequest | str) -> int:
        """The request's prompt length in tokens (its ``usage.prompt_tokens``), or plain text's with no BOS added,
        without generating; also for prompts longer than the context."""
        if self._llama is None:
            raise ChatEngineUnavailableError(f"The chat model is not available: {self._status.detail}")
        if isinstance(prompt, str):
            # Special-token text counts as it does inside a prompt (and in vLLM's tokenizer): as one token.
            return len(self._llama.tokenize(prompt.encode(), add_bos=False, special=True))
        return len(self._prompt(prompt)[1])

    async def count_tokens(self, prompt: ChatRequest | str) -> TokenCount:
        """Counts in a worker thread without the generation lock: tokenizing reads only the vocabulary, which a
        running generation does not change."""
        return TokenCount(await asyncio.to_thread(self.count_prompt_tokens, prompt), self._context_length)

    def _deltas(
        self, request: ChatRequest, grammar: GrammarFilter | None, cancel: threading.Event
    ) -> Iterator[ChatDelta]:
        """Formats and generates (blocking); stops early once ``cancel`` is set."""
        started = time.monotonic()
        llama = self._llama
        formatted, prompt = self._prompt(request)
        if len(prompt) >= llama.n_ctx():
            raise ChatRequestError(
                f"This model's maximum context length is {llama.n_ctx()} tokens; the messages use {len(prompt)}.",
                code="context_length_exceeded",
                param="messages",
            )
        # llama.cpp keeps the KV cache of the previous prompt and answer and only evaluates what follows the
        # longest common prefix (at least one token, to refresh the logits).
        cached = min(llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), prompt), len(prompt) - 1)
        stop = [*request.stop, *([formatted.stop] if isinstance(formatted.stop, str) else formatted.stop or [])]
        text: list[str] = []
        held: list[str] = []  # a tool call, kept until it is known to be forced by the grammar or a repeat, or not
        hold_calls = bool(request.tools) and request.tool_choice == "auto"
        finish_reason = "stop"
        first_piece: float | None = None
        for piece, reason in self._complete(request, prompt, stop, formatted, grammar, cancel):
            if first_piece is None:
                first_piece = time.monotonic()
            finish_reason = reason or finish_reason
            if hold_calls and (held or (not text and piece.lstrip()[:1] in _CALL_STARTS)):
                held.append(piece)
            elif piece:
                text.append(piece)
                yield ChatDelta(text=piece)
        if held and ((grammar is not None and grammar.forced) or _repeats_answered_calls(request, "".join(held))):
            # The model began a call the grammar had to bend into an offered tool or value (a joke "called"
            # HassTurnOn), or repeated a call whose result it already has (a loop, as the grammar allows no raw
            # JSON echo either): it did not mean a new call, so it answers in prose instead.
            _LOGGER.info("llama.cpp tool call forced or repeated, answering in prose: %s", "".join(held))
            held, finish_reason = [], "stop"
            prose = GrammarFilter(llama, PROSE_GRAMMAR)
            try:
                for piece, reason in self._complete(request, prompt, stop, formatted, prose, cancel):
                    finish_reason = reason or finish_reason
                    if piece:
                        text.append(piece)
                        yield ChatDelta(text=piece)
            finally:
                prose.close()
        if held:
            text.extend(held)
            yield ChatDelta(text="".join(held))
        if cancel.is_set():
            return
        completion = llama.tokenize("".join(text).encode(), add_bos=False, special=True) if text else []
        _LOGGER.info(
            "llama.cpp turn: %d prompt tokens (%d cached), %d generated in %.2f s (first after %.2f s)",
            len(prompt),
            max(cached, 0),
            len(completion),
            time.monotonic() - started,
            (first_piece or time.monotonic()) - started,
        )
        yield ChatDelta(
            finish_reason=finish_reason,
            prompt_tokens=len(prompt),
            completion_tokens=len(completion),
            cached_tokens=max(cached, 0),
        )

    def _complete(
        self,
        request: ChatRequest,
        prompt: list[int],
        stop: list[str],
        formatted: Any,
        grammar: GrammarFilter | None,
        cancel: threading.Event,
    ) -> Iterator[tuple[str, str | None]]:
        """Generates (blocking) and yields each piece of text with the finish reason when there is one."""
        chunks = self._llama.create_completion(
            prompt=prompt,
            max_tokens=request.max_tokens or -1,  # -1: up to the end of the context
            temperature=0.8 if request.temperature is None else request.temperature,
            top_p=0.95 if request.top_p is None else request.top_p,
            stop=stop,
            seed=request.seed,
            stream=True,
            stopping_criteria=formatted.stopping_criteria,
            logits_processor=None if grammar is None else [grammar],
        )
        for pieces, chunk in enumerate(chunks):
            if cancel.is_set():
                chunks.close()
                _LOGGER.info("llama.cpp generation cancelled after %d pieces", pieces)
                return
            choice = chunk["choices"][0]
            yield choice["text"], choice["finish_reason"]

    def _generate(
        self,
        request: ChatRequest,
        grammar: GrammarFilter | None,
        put: Callable[[ChatDelta | BaseException], None],
        cancel: threading.Event,
    ) -> None:
        """Runs in a worker thread and hands every piece, or the error, to ``put``."""
        try:
            with self._lock:
                if cancel.is_set():
                    return
                try:
                    for delta in self._deltas(request, grammar, cancel):
                        put(delta)
                except BaseException as err:  # handed to the event loop, which raises it in the request
                    put(err)
        finally:
            if grammar is not None:
                grammar.close()

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
