"""Any home fits (issue 17): in generated homes of 40 and 500 exposed entities, every request the agent sends fits
the model's window, no reply carries an internal error, and commands (by HA's intents and by the LLM) act right:
the expected states reached, nothing else changed.

A real HA core with the generated home (``bench.generated_home``), the real backend (the packaged Qwen2.5 0.5B with
its 4,096-token window), greedy decoding. The prompt tokens of each request are the usage the backend reported for it
in the conversation's debug trace; a request whose stream ended without usage (the backend refused it, or the agent
closed the stream early) is sent again for one token, and counts as not fitting when the backend refuses it.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.trace import async_clear_traces, async_get_traces
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from bench.eval_commands import Snapshot, score
from bench.eval_suite import COMPARED_ATTRIBUTES, Case, ServiceCall
from bench.generated_commands import home_commands
from bench.generated_home import generate_home, reset_actions
from bench.reply_errors import internal_error
from custom_components.havencore.const import (
    CHAT_PATH,
    CONF_PREFER_LOCAL_INTENTS,
    CONF_TEMPERATURE,
    DOMAIN,
    INFO_PATH,
    SUBENTRY_CONVERSATION,
)
from demo.assist import AssistRun, PipelineEvent
from tests.backend_process import RunningBackend, http_get
from tests.integration.agent import AGENT, async_set_up_agent
from tests.integration.conftest import API_KEY
from tests.integration.generated_home import async_set_up_generated_home

# A request sent again to count it is prefilled again, which takes a while for a long prompt on two cores.
PREFILL_TIMEOUT = aiohttp.ClientTimeout(total=300)
# The window when the backend does not say (llama.cpp's default context in the backend's settings).
DEFAULT_CONTEXT_LENGTH = 4096
# The first command of each kind a home runs with HA's intents first (they answer these), then with every command
# going to the model: chit-chat, and a device Assist does not see. (Left out of the model's: the indirect requests,
# which the 0.5B model gets one in four right whatever the prompt's size, and a device by name next to its
# look-alike, which HA's intents answer with the default options and the 0.5B model, asked instead, fills with
# every device class it may name. The benchmark, bench/eval_homes.py, measures both.)
LOCAL_KINDS = ("name", "set")
LLM_KINDS = ("chit-chat", "unexposed")


def _context_length(backend: RunningBackend) -> int:
    status, info = http_get(f"{backend.url}{INFO_PATH}", API_KEY)
    assert status == 200, info
    return int(info.get("chat_context_length") or DEFAULT_CONTEXT_LENGTH)


def _snapshot(hass: HomeAssistant) -> Snapshot:
    """The states and compared attributes, as ``bench.eval_commands.snapshot`` reads them from a real hass."""
    return {
        state.entity_id: (
            state.state,
            tuple((name, state.attributes.get(name)) for name in COMPARED_ATTRIBUTES[state.domain]),
        )
        for state in hass.states.async_all()
        if state.domain in COMPARED_ATTRIBUTES
    }


def _reply_run(reply: str) -> AssistRun:
    """A reply as the end of an Assist run, which is what ``bench.eval_commands.score`` reads."""
    output = {"intent_output": {"response": {"speech": {"plain": {"speech": reply}}}}}
    return AssistRun(started_at=0.0, events=[PipelineEvent("intent-end", output, 0.0)])


def _traced_requests() -> list[tuple[dict[str, Any], int | None]]:
    """Each chat request the agent sent, with the prompt tokens the backend reported for it (None without usage)."""
    sent: list[tuple[dict[str, Any], int | None]] = []
    for trace in async_get_traces():
        for event in trace.as_dict()["events"]:
            data = event.get("data") or {}
            if "havencore_request" in data:
                sent.append((data["havencore_request"], None))
            elif "stats" in data and sent and sent[-1][1] is None:
                sent[-1] = (sent[-1][0], int(data["stats"]["input_tokens"]))
    return sent


async def _async_turn_off_local_first(hass: HomeAssistant) -> None:
    """Turns the agent's "handle commands locally first" off, as its subentry's options form does."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION)
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, CONF_PREFER_LOCAL_INTENTS: False})
    await hass.async_block_till_done()


async def _run_actions(hass: HomeAssistant, calls: tuple[ServiceCall, ...]) -> None:
    for call in calls:
        await hass.services.async_call(call.domain, call.service, dict(call.data), blocking=True)
    await hass.async_block_till_done()


async def _async_prompt_tokens(hass: HomeAssistant, backend: RunningBackend, request: dict[str, Any]) -> int | str:
    """The prompt tokens the backend counts for this request (answered with one token), or why it refused it."""
    async with async_get_clientsession(hass).post(
        f"{backend.url}{CHAT_PATH}",
        json={**request, "max_tokens": 1, "stream": False},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=PREFILL_TIMEOUT,
    ) as response:
        body = await response.json()
    if response.status != 200:
        return str(body.get("error", {}).get("message", body))
    tokens: int = body["usage"]["prompt_tokens"]
    return tokens


async def _problems(
    hass: HomeAssistant, backend: RunningBackend, case: Case, context_length: int, llm: bool
) -> list[str]:
    """Runs one command (``llm``: one that must reach the model); returns what went wrong."""
    before = _snapshot(hass)
    result = await conversation.async_converse(hass, case.text, None, Context(), agent_id=AGENT)
    await hass.async_block_till_done()
    reply = result.response.speech.get("plain", {}).get("speech", "")
    scored = score("havencore", "typed", case, before, _snapshot(hass), _reply_run(reply), "")
    problems = [f"missing: {item}" for item in scored.missing]
    problems += [f"false action: {entity} {scored.changes[entity]}" for entity in scored.false_actions]
    if mark := internal_error(reply):
        problems.append(f"internal error ({mark!r}) in the reply")
    requests = _traced_requests()
    for index, (request, traced) in enumerate(requests):
        tokens = traced if traced is not None else await _async_prompt_tokens(hass, backend, request)
        if isinstance(tokens, str):
            problems.append(f"request {index + 1} refused: {tokens}")
        elif tokens + int(request["max_tokens"]) > context_length:
            problems.append(
                f"request {index + 1}: {tokens} prompt tokens + max_tokens {request['max_tokens']} > {context_length}"
            )
    if llm and not requests:
        problems.append("no request went to the model")
    return [f'"{case.text}": {problem}; reply: "{reply[:200]}"' for problem in problems]


@pytest.mark.parametrize("size", [40, 500])
async def test_every_request_fits_the_window_in_a_home_of(
    hass_with_core: HomeAssistant, backend: RunningBackend, size: int
) -> None:
    hass = hass_with_core
    home = generate_home(size)
    await async_set_up_generated_home(hass, home)
    await async_set_up_agent(hass, backend, extra={CONF_TEMPERATURE: 0})
    context_length = _context_length(backend)
    commands = home_commands(home)

    problems: list[str] = []
    for llm, kinds in ((False, LOCAL_KINDS), (True, LLM_KINDS)):
        if llm:
            await _async_turn_off_local_first(hass)
        for case in (next(case for case in commands if case.kind == kind) for kind in kinds):
            await _run_actions(hass, (*reset_actions(home), *case.given))
            async_clear_traces()
            problems += await _problems(hass, backend, case, context_length, llm)

    assert not problems, "\n".join(problems)
