"""Assist turn latency, HavenCore's pipeline vs the reference stack, per stage, over HA's websocket API as a satellite
sees it; then prompt tokens per LLM turn of both agents for homes of 50 and 500 exposed entities.

Usage: ``bench/assist.sh [--turns 20]`` (installs the reference servers, then runs
``.venv-ha/bin/python -m bench.assist_latency``). It starts the demo home (backend + real hass) in a temp dir, adds
the reference stack to the same Home Assistant (``bench.reference_stack``), and says each command (espeak-ng, 100 ms
frames paced in real time) to both pipelines in turn. Stages are timed from the end of speech (the last audio frame
sent): speech-to-text done, first LLM token, the agent's reply done and the first byte of the TTS stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiohttp

from demo.assist import PipelineEvent, converse, run_pipeline, spoken_command
from demo.ha_client import HomeAssistantClient
from demo.home_config import DEMO_ENTITIES
from demo.provision import configure_havencore
from demo.stack import DemoHome, start_demo
from tests.backend_process import free_port

from .big_home import exposed_entity_ids, grow_home
from .recording_proxy import RecordingProxy
from .reference_stack import PIPELINE_NAME, ReferenceStack, ha_environment, set_up_reference, start_servers

# Commands Home Assistant's own intents understand: both stacks answer them without the LLM.
DEVICE_COMMANDS = (
    "turn on the kitchen light",
    "turn off the kitchen light",
    "turn on the bedroom light",
    "turn off the bedroom light",
    "turn on the living room lamp",
    "turn off the living room lamp",
    "lock the front door",
    "unlock the front door",
    "open the bedroom blinds",
    "close the bedroom blinds",
    "turn on the lights in the kitchen",
    "turn off the lights in the kitchen",
    "turn on the lights in the bedroom",
    "turn off the lights in the bedroom",
    "turn on the lights in the living room",
    "turn off the lights in the living room",
    "set the living room thermostat to 22 degrees",
    "set the living room thermostat to 20 degrees",
    "turn on all the lights",
    "turn off all the lights",
)
# Turns no intent sentence matches, so they go to the LLM agent (with the home's tools).
LLM_COMMANDS = (
    "it's too dark in the kitchen",
    "what's the temperature in the living room",
    "is the front door locked",
    "I'm going to bed, make the bedroom dark",
    "what is the capital of France",
    "tell me a short joke",
    "it's a bit cold in the living room",
    "how many minutes are there in a day",
    "which lights are on right now",
    "I can't see anything in the bedroom",
    "why is the sky blue",
    "make the living room cozy",
    "what can you do",
    "is it warm enough in the living room",
    "give me a tip for saving energy",
    "how do I make a cup of tea",
    "the kitchen is too bright",
    "what is two plus two",
    "close everything in the bedroom",
    "say good night",
)
# The LLM turn whose prompt is measured for the larger homes.
TOKEN_COMMAND = "it's too dark in the kitchen"
HOME_SIZES = (len(DEMO_ENTITIES), 50, 500)  # the demo home as the latency runs saw it, then grown


@dataclass(frozen=True, slots=True)
class AssistPipeline:
    """A pipeline under test: its name and id in Home Assistant."""

    name: str
    pipeline_id: str


@dataclass(frozen=True, slots=True)
class TurnTiming:
    """Seconds from the end of speech to each stage's end; None where it did not run (no LLM token when Home
    Assistant's intents answered). A failed turn keeps the pipeline's error code and no timings."""

    stt: float | None = None
    first_token: float | None = None
    reply: float | None = None
    first_audio: float | None = None
    error: str | None = None


# Home Assistant gives a pipeline run 300 s; a cold LLM turn on two cores can take minutes.
TURN_LIMIT = aiohttp.ClientTimeout(total=300)


def _is_model_output(event: PipelineEvent) -> bool:
    """Whether the event carries text or a tool call the model wrote; an agent may announce the assistant's role
    (``{"chat_log_delta": {"role": "assistant"}}``) before the model has produced anything."""
    delta = event.data.get("chat_log_delta") or {}
    return bool(delta.get("content") or delta.get("tool_calls")) and delta.get("role") != "tool_result"


async def measure_turn(client: HomeAssistantClient, pipeline: AssistPipeline, audio: bytes) -> TurnTiming:
    """Says one command to the pipeline and times its stages; the TTS stream is read as soon as ``run-start``
    announces it, as a streaming satellite does (Home Assistant holds it until the first audio is ready)."""
    reading: list[asyncio.Task[float]] = []

    def start_reading(event: PipelineEvent) -> None:
        tts_output = event.data.get("tts_output") if event.type == "run-start" else None
        if tts_output:
            reading.append(asyncio.create_task(client.first_byte_at(tts_output["url"], TURN_LIMIT)))

    run = await run_pipeline(client, pipeline.pipeline_id, audio=audio, on_event=start_reading, realtime=True)
    if "error" in run.types or not reading:
        for task in reading:
            task.cancel()
        error = run.first("error").data if "error" in run.types else {"code": "no TTS stream"}
        print(f"  {pipeline.name} failed: {error}", flush=True)
        return TurnTiming(error=str(error.get("code")))
    origin = run.audio_ended_at
    assert origin is not None
    first_delta = next((e.received_at for e in run.events if _is_model_output(e)), None)
    return TurnTiming(
        stt=run.first("stt-end").received_at - origin,
        first_token=first_delta - origin if first_delta is not None else None,
        reply=run.first("intent-end").received_at - origin,
        first_audio=await reading[0] - origin,
    )


async def measure_set(
    client: HomeAssistantClient, pipelines: Sequence[AssistPipeline], commands: Sequence[str], turns: int
) -> dict[str, list[TurnTiming]]:
    """``turns`` commands said to every pipeline in turn (the order alternating each round, so neither always goes
    first), after one warm-up turn each: first use loads and caches what a running home already has."""
    timings: dict[str, list[TurnTiming]] = {pipeline.name: [] for pipeline in pipelines}
    if not turns:
        return timings
    audio = {command: await asyncio.to_thread(spoken_command, command) for command in commands}
    for pipeline in pipelines:
        await measure_turn(client, pipeline, audio[commands[0]])
    for index in range(turns):
        command = commands[index % len(commands)]
        for pipeline in pipelines if index % 2 == 0 else reversed(pipelines):
            timings[pipeline.name].append(await measure_turn(client, pipeline, audio[command]))
    return timings


def _p50_p95(values: list[float]) -> tuple[float, float] | None:
    if not values:
        return None
    cuts = statistics.quantiles(values, n=20, method="inclusive") if len(values) > 1 else [values[0]] * 19
    return statistics.median(values), cuts[18]


STAGES = (
    ("speech-to-text done", "stt"),
    ("first LLM token", "first_token"),
    ("agent reply done", "reply"),
    ("first TTS audio byte", "first_audio"),
)


def report(title: str, timings: dict[str, list[TurnTiming]]) -> str:
    """A Markdown table: p50/p95 per stage and pipeline, and HavenCore / reference ratios."""
    ours, reference = list(timings)
    rows = [
        f"{title}: {len(timings[ours])} turns each (seconds after the end of speech)",
        "",
        f"| stage | {ours} p50 | {ours} p95 | {reference} p50 | {reference} p95 | ratio p50 | ratio p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, attribute in STAGES:
        stats = {
            name: _p50_p95([v for t in runs if (v := getattr(t, attribute)) is not None])
            for name, runs in timings.items()
        }
        ours_stats, ref_stats = stats[ours], stats[reference]
        cells = [
            f"{v:.3f}" if v is not None else "–" for pair in (ours_stats, ref_stats) for v in (pair or (None,) * 2)
        ]
        ratios = ["–", "–"]
        if ours_stats and ref_stats:
            ratios = [f"{ours_stats[i] / ref_stats[i]:.2f}" for i in range(2)]
        rows.append(f"| {label} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    llm_turns = {name: sum(t.first_token is not None for t in runs) for name, runs in timings.items()}
    failed = {name: sum(t.error is not None for t in runs) for name, runs in timings.items()}
    rows += [
        "",
        "Turns the LLM answered: " + ", ".join(f"{name} {n}/{len(timings[name])}" for name, n in llm_turns.items()),
        "Failed turns (left out of the stages): " + ", ".join(f"{name} {n}" for name, n in failed.items()),
    ]
    return "\n".join(rows)


async def _havencore_request_tokens(
    session: aiohttp.ClientSession, standin_url: str, proxy: RecordingProxy, index: int
) -> int | None:
    """Prompt tokens of the ``index``-th chat request HavenCore sent through the proxy; None until it has."""
    if len(proxy.chat_requests) <= index:
        return None
    body = proxy.chat_requests[index]
    request = {"messages": body["messages"], "tools": body.get("tools") or []}
    async with session.post(f"{standin_url}/bench/prompt_tokens", json=request) as response:
        count: int = (await response.json())["prompt_tokens"]
        return count


async def _reference_requests(session: aiohttp.ClientSession, standin_url: str) -> list[int]:
    """Prompt tokens of each request the Ollama stand-in received so far."""
    async with session.get(f"{standin_url}/bench/prompt_tokens") as response:
        counts: list[int] = await response.json()
        return counts


async def _reference_request_tokens(session: aiohttp.ClientSession, standin_url: str, index: int) -> int | None:
    """Prompt tokens of the ``index``-th request the Ollama stand-in received; None until it has."""
    counts = await _reference_requests(session, standin_url)
    return counts[index] if len(counts) > index else None


@dataclass
class _PendingTurn:
    """A typed turn left running (its generation can take minutes), on a client of its own."""

    client: HomeAssistantClient
    task: asyncio.Task[str]

    async def abandon(self) -> None:
        """Stops waiting for the answer and closes the client."""
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task
        await self.client.close()


async def _first_request(
    home: DemoHome, agent_id: str, sent: Callable[[], Awaitable[int | None]], pending: list[_PendingTurn]
) -> int:
    """Starts a typed LLM turn and returns the prompt tokens of the agent's first request as soon as it was sent;
    the turn goes on in ``pending`` on a client of its own, so the main client's websocket stays free."""
    client = HomeAssistantClient(home.hass.url, home.state.token)
    turn = _PendingTurn(client, asyncio.create_task(converse(client, TOKEN_COMMAND, agent_id)))
    pending.append(turn)
    async with asyncio.timeout(120):
        while (count := await sent()) is None:
            if turn.task.done():
                raise RuntimeError(f"{agent_id} answered without asking the LLM: {turn.task.result()!r}")
            await asyncio.sleep(0.2)
    return count


async def measure_prompt_tokens(home: DemoHome, reference: ReferenceStack) -> list[tuple[int, int, int]]:
    """Grows the home to each size and counts, with the model's own chat template and tokenizer, the prompt tokens of
    the first LLM request of one turn of each agent: HavenCore's as a recording proxy saw it (HavenCore is pointed
    at the proxy through its reconfigure flow), the reference's as the Ollama stand-in received it. Returns
    (exposed entities, HavenCore's tokens, the reference's tokens) per size."""
    proxy = RecordingProxy(home.backend.url)
    proxy_url = await proxy.start()
    await configure_havencore(home.client, proxy_url, home.state.api_key, recreate=False, reconfigure=True)
    results = []
    pending: list[_PendingTurn] = []
    generated = 0
    try:
        url = reference.standin_url
        async with aiohttp.ClientSession() as session:
            for size in HOME_SIZES:
                generated = await grow_home(home.client, size, generated)
                exposed = len(await exposed_entity_ids(home.client))
                ours_sent = partial(_havencore_request_tokens, session, url, proxy, len(proxy.chat_requests))
                received = len(await _reference_requests(session, url))
                theirs_sent = partial(_reference_request_tokens, session, url, received)
                ours = await _first_request(home, home.entities["conversation"], ours_sent, pending)
                theirs = await _first_request(home, reference.entities["conversation"], theirs_sent, pending)
                print(f"{exposed} exposed entities: HavenCore {ours}, reference {theirs} prompt tokens", flush=True)
                results.append((exposed, ours, theirs))
    finally:
        for turn in pending:
            await turn.abandon()
        await proxy.stop()
    return results


def tokens_report(results: list[tuple[int, int, int]]) -> str:
    """A Markdown table of prompt tokens per LLM turn by home size."""
    rows = [
        f'Prompt tokens of the first LLM request of a turn ("{TOKEN_COMMAND}"), counted with the model\'s chat '
        "template and tokenizer",
        "",
        "| exposed entities | HavenCore | reference | HavenCore / reference |",
        "|---|---|---|---|",
    ]
    rows += [f"| {exposed} | {ours} | {theirs} | {ours / theirs:.2f} |" for exposed, ours, theirs in results]
    return "\n".join(rows)


async def _run(work: Path, turns: int, llm_turns: int) -> None:
    # hass inherits this: the ollama client for HA's integration lives outside the project's test venv.
    os.environ.update(ha_environment())
    os.environ["HF_HUB_OFFLINE"] = "1"
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    reference = start_servers(work / "reference")  # loads its models while the demo home starts
    try:
        home = await start_demo(work / "demo", free_port(), free_port(), progress=print)
        try:
            await set_up_reference(home.client, reference)
            pipelines = (
                AssistPipeline("HavenCore", home.pipeline_id),
                AssistPipeline("reference", reference.pipeline_id),
            )
            print(f"pipelines ready after {time.monotonic() - started:.0f} s: {home.entities}, {reference.entities}")
            device = await measure_set(home.client, pipelines, DEVICE_COMMANDS, turns)
            print(report("Device commands", device), flush=True)
            llm = await measure_set(home.client, pipelines, LLM_COMMANDS, llm_turns)
            print(report("Turns for the LLM", llm), flush=True)
            tokens = await measure_prompt_tokens(home, reference)
        finally:
            await home.stop()
    finally:
        reference.stop()
    print(
        f"\n{platform.platform()}, {os.cpu_count()} CPUs, load average {load_start:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end, {time.monotonic() - started:.0f} s in all; reference: {PIPELINE_NAME}\n"
    )
    print(report("Device commands", device), end="\n\n")
    print(report("Turns for the LLM", llm), end="\n\n")
    print(tokens_report(tokens))


def main() -> None:
    """Parses the arguments and runs the benchmark."""
    parser = argparse.ArgumentParser(prog="bench.assist_latency", description=__doc__)
    parser.add_argument("--turns", type=int, default=20, help="measured device commands per pipeline")
    parser.add_argument("--llm-turns", type=int, default=20, help="measured LLM turns per pipeline")
    parser.add_argument("--work-dir", type=Path, help="keep the homes, servers' logs and HA's log here")
    args = parser.parse_args()
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(_run(args.work_dir, args.turns, args.llm_turns))
        return
    with tempfile.TemporaryDirectory(prefix="havencore-bench-") as tmp:
        asyncio.run(_run(Path(tmp), args.turns, args.llm_turns))


if __name__ == "__main__":
    main()
