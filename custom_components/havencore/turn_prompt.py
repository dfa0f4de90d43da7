"""Builds each request an agent sends inside the model's token budget (see ``prompt_budget``) and laid out to stay
cached (see ``prompt_layout``).

The home context is chosen by measure, not by a count of entities: every exposed entity when its overview fits the
home context's share, otherwise the areas (in the cached system message) and the entities most relevant to the
request (in the turn's context), as many as fit. Before each model step the whole request is counted; history is
dropped oldest turn first, then memory and live states, and a request that still does not fit is never sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry

from .api import HavenCoreConnectionError, HavenCoreResponseError
from .chat_wire import convert_content, tool_names
from .const import (
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    DEFAULT_MAX_HISTORY,
    DEFAULT_MAX_TOKENS,
    LOGGER,
    RETRIEVED_ENTITIES,
)
from .entity_retrieval import EntityIndex, lexical_rank, named_outright
from .prompt_budget import TokenBudget, TokenCounter, prompt_too_large
from .prompt_layout import (
    HomeContext,
    PromptLayout,
    areas_overview,
    entity_overview,
    split_api_prompt,
    system_message,
)
from .runtime import HavenCoreConfigEntry
from .vocabulary import ExposedEntity

# No entity's overview entry ("- names: ...\n  domain: ...") takes fewer tokens: a home of more entities than the
# share holds at this rate is not rendered to be counted.
MIN_ENTITY_TOKENS = 6


def trim_history(messages: list[dict[str, Any]], max_user_turns: int) -> list[dict[str, Any]]:
    """Keeps the system prompt and the last ``max_user_turns`` earlier user turns plus the current one."""
    if max_user_turns < 1:
        return messages
    user_indexes = [index for index, message in enumerate(messages) if message["role"] == "user"]
    if len(user_indexes) <= max_user_turns + 1:
        return messages
    first_kept = user_indexes[-(max_user_turns + 1)]
    return [messages[0], *messages[first_kept:]]


def without_oldest_turn(history: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The history (no system message) without its oldest user turn and what answered it; ``None`` when only the
    current turn is left."""
    user_indexes = [index for index, message in enumerate(history) if message["role"] == "user"]
    if len(user_indexes) < 2:
        return None
    return history[user_indexes[1] :]


@dataclass(frozen=True, slots=True)
class FittedRequest:
    """A request's messages that fit the budget, and its counted prompt tokens."""

    messages: list[dict[str, Any]]
    prompt_tokens: int


class RequestBuilder:
    """Lays out and sizes one agent's requests; remembers token counts and entity embeddings between turns."""

    def __init__(self, entry: HavenCoreConfigEntry, subentry: ConfigSubentry) -> None:
        self._entry = entry
        self._subentry = subentry
        runtime = entry.runtime_data
        self.counter = TokenCounter(runtime.client, runtime.info.chat_context_length)
        self._index: EntityIndex | None = None
        # Whether the home was listed whole, for which exposed entities and share.
        self._listed_key: tuple[tuple[ExposedEntity, ...], int] | None = None
        self._listed = False

    @property
    def budget(self) -> TokenBudget:
        """The budget of this agent's requests: the model's window, less the reply's reserve."""
        reply = int(self._subentry.data.get(CONF_MAX_TOKENS, DEFAULT_MAX_TOKENS))
        return TokenBudget(window=self.counter.window, reply=reply)

    async def async_home_context(
        self,
        model: str,
        instructions: str,
        api_prompt: str | None,
        tools: list[dict[str, Any]] | None,
        entities: Sequence[ExposedEntity],
        request: str | None,
    ) -> HomeContext:
        """Every exposed entity when they fit the home context's share, else the areas and the entities most
        relevant to ``request`` (none without a request: prompt preparation), as many as fit.

        Raises a translated error when the instructions and tools alone leave the conversation too little room.
        """
        if api_prompt is None or not entities or not split_api_prompt(api_prompt).lists_entities:
            return HomeContext()
        budget = self.budget
        fixed = await self._async_count_system(
            model, system_message(instructions, api_prompt, HomeContext(), tool_names(tools)), tools
        )
        share = budget.home_context(fixed)
        if share < 0:
            LOGGER.warning(
                "The instructions and tools take %d tokens: the model's window of %d leaves no room for a turn",
                fixed,
                budget.window,
            )
            raise prompt_too_large()
        if await self._async_lists_all(model, entities, share):
            return HomeContext(listed=entities)
        areas = await self.counter.async_cut(model, areas_overview(entities), share // 2)
        if request is None:
            return HomeContext(areas=areas, retrieved=[])
        room = share - await self.counter.async_count_text(model, areas)
        ranked = await self._async_rank(entities, request)
        best = ranked[: max(RETRIEVED_ENTITIES, len(named_outright(entities, request)))]
        return HomeContext(areas=areas, retrieved=await self._async_fitting(model, entities, best, room))

    async def _async_lists_all(self, model: str, entities: Sequence[ExposedEntity], share: int) -> bool:
        """Whether every entity's overview fits ``share`` tokens; remembered while the home and the share stay the
        same, since rendering 2,000 entities' overview takes HA's event loop about 100 ms."""
        key = (tuple(entities), share)
        if self._listed_key != key:
            self._listed = MIN_ENTITY_TOKENS * len(entities) <= share and (
                await self.counter.async_count_text(model, entity_overview(entities)) <= share
            )
            self._listed_key = key
        return self._listed

    async def _async_count_system(self, model: str, system: str, tools: list[dict[str, Any]] | None) -> int:
        request: dict[str, Any] = {"model": model, "messages": [{"role": "system", "content": system}]}
        if tools:
            request["tools"] = tools
        return await self.counter.async_count_request(request)

    async def _async_rank(self, entities: Sequence[ExposedEntity], request: str) -> list[int]:
        """The entities best first, by embeddings when the backend has a model for them."""
        model = self._entry.runtime_data.info.embeddings_model
        if model:
            if self._index is None:
                self._index = EntityIndex(self._entry.runtime_data.client, model)
            try:
                return await self._index.async_rank(entities, request)
            except (HavenCoreConnectionError, HavenCoreResponseError) as err:
                LOGGER.warning("Ranking entities by their words: the backend could not embed the request: %s", err)
        return lexical_rank(entities, request)

    async def _async_fitting(
        self, model: str, entities: Sequence[ExposedEntity], best: list[int], room: int
    ) -> list[ExposedEntity]:
        """The ``best`` entities (indexes, best first), fewer until their overview fits ``room`` tokens; in
        ``entities``' order, so the same selection gives the same prompt bytes."""
        chosen = best
        while chosen:
            selected = [entities[index] for index in sorted(chosen)]
            tokens = await self.counter.async_count_text(model, entity_overview(selected))
            if tokens <= room:
                return selected
            chosen = chosen[: min(len(chosen) - 1, len(chosen) * room // tokens)]
        return []

    async def async_fit(
        self, request: dict[str, Any], chat_log: conversation.ChatLog, layout: PromptLayout | None
    ) -> FittedRequest:
        """The chat log as the request's messages within the budget: at most the agent's earlier turns, each tool
        result cut to its share, then the oldest turns dropped, then memory and live states, until it fits."""
        budget = self.budget
        model = str(request["model"])
        max_history = int(self._subentry.data.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY))
        messages = trim_history([convert_content(content) for content in chat_log.content], max_history)
        for message in messages:
            if message["role"] == "tool":
                message["content"] = await self.counter.async_cut(model, message["content"], budget.tool_result)
        system, history = messages[0], messages[1:]
        lean = False
        while True:
            fitted = layout.messages(history, lean=lean) if layout is not None else [system, *history]
            tokens = await self.counter.async_count_request({**request, "messages": fitted})
            if tokens <= budget.prompt:
                return FittedRequest(fitted, tokens)
            if (shorter := without_oldest_turn(history)) is not None:
                history = shorter
            elif layout is not None and not lean:
                lean = True
            else:
                LOGGER.warning(
                    "A request of %d prompt tokens cannot fit the model's window of %d tokens less %d for the reply",
                    tokens,
                    budget.window,
                    budget.reply,
                )
                raise prompt_too_large()
