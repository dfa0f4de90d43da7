"""The token budget of a request: the model's window split into designed shares, counted with its own tokenizer.

A request is the reply's reserve (``max_tokens``) plus a prompt: the fixed part (instructions, Assist's rules, the
tools), the home context (every exposed entity when that fits its share, else the retrieved ones), and the
conversation (this turn's context, memory, history, tool results), which gets what is left. Everything that grows with
the user's data has a share in tokens, and the whole request is counted before it is sent: an overflow never reaches
the engine.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from homeassistant.exceptions import HomeAssistantError

from .api import HavenCoreClient
from .const import (
    CONVERSATION_MIN_TOKENS,
    DEFAULT_CONTEXT_WINDOW,
    DOMAIN,
    ESTIMATED_BYTES_PER_TOKEN,
    HOME_CONTEXT_TOKENS,
    LOGGER,
    TOOL_RESULT_TOKENS,
)

# Counts kept per agent: the fixed prompt, home overviews and tool results recur from turn to turn.
_CACHED_COUNTS = 512
CUT_MARK = " …"


@dataclass(frozen=True, slots=True)
class TokenBudget:
    """How many tokens each part of a request may take in a model's window."""

    window: int
    reply: int

    @property
    def prompt(self) -> int:
        """The prompt's share: the window less the reply's reserve."""
        return self.window - self.reply

    def home_context(self, fixed: int) -> int:
        """The home context's share after a fixed part of ``fixed`` tokens, leaving the conversation its minimum."""
        return min(HOME_CONTEXT_TOKENS, self.prompt - fixed - CONVERSATION_MIN_TOKENS)

    @property
    def tool_result(self) -> int:
        """The most one tool result may take."""
        return min(TOOL_RESULT_TOKENS, self.prompt // 4)


def prompt_too_large() -> HomeAssistantError:
    """The error for a prompt that cannot fit however it is cut."""
    return HomeAssistantError(translation_domain=DOMAIN, translation_key="prompt_too_large")


def _key(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def estimated_tokens(text: str) -> int:
    """An upper estimate for a backend that cannot count (an upstream engine): bytes over a small ratio."""
    return len(text.encode()) // ESTIMATED_BYTES_PER_TOKEN + 1


class TokenCounter:
    """Counts prompts with the backend's tokenizer (``POST /v1/havencore/tokenize``), remembering recent counts, and
    learns the model's window from its answers."""

    def __init__(self, client: HavenCoreClient, window: int | None) -> None:
        self._client = client
        self.window = window or DEFAULT_CONTEXT_WINDOW
        self._counts: OrderedDict[str, int] = OrderedDict()
        # Set once the backend said it cannot count; estimates from then on.
        self._estimating = False

    async def _async_count(self, body: dict[str, Any], fallback: str) -> int:
        key = _key(body)
        if (count := self._counts.get(key)) is not None:
            self._counts.move_to_end(key)
            return count
        counted = None if self._estimating else await self._client.async_count_tokens(body)
        if counted is None:
            if not self._estimating:
                LOGGER.info("The backend cannot count tokens; prompt sizes are estimated from their length")
            self._estimating = True
            count = estimated_tokens(fallback)
        else:
            count = counted.count
            self.window = counted.window
        self._counts[key] = count
        if len(self._counts) > _CACHED_COUNTS:
            self._counts.popitem(last=False)
        return count

    async def async_count_request(self, request: dict[str, Any]) -> int:
        """The prompt tokens of a chat request (its ``model``, ``messages`` and ``tools``), as its usage says."""
        body = {key: request[key] for key in ("model", "messages", "tools") if key in request}
        return await self._async_count(body, json.dumps(body, ensure_ascii=False))

    async def async_count_text(self, model: str, text: str) -> int:
        """The tokens of a plain text."""
        return await self._async_count({"model": model, "prompt": text}, text)

    async def async_cut(self, model: str, text: str, tokens: int) -> str:
        """``text`` cut to at most ``tokens`` tokens (with a mark where it was cut)."""
        # A token is at least one character: a text that short fits without asking the backend.
        if len(text) <= tokens:
            return text
        count = await self.async_count_text(model, text)
        while count > tokens and text:
            keep = max(0, int(len(text) * tokens / count * 0.9) - len(CUT_MARK))
            text = text[:keep] + CUT_MARK if keep else ""
            count = await self.async_count_text(model, text)
        return text
