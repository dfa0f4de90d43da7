"""The first LLM turn after the agent loads, with and without *Prepare the prompt before the first turn*.

Usage: ``.venv-ha/bin/python -m bench.first_turn [--rounds 3]``. It starts the demo home (backend + real hass) in a
temp dir. Each round reconfigures the agent, through the same subentry flow the UI uses, with instructions no earlier
request had (a new number first), so the backend has nothing of the prompt cached, once with preparation and once
without, interleaved, each time after clearing the demo user's history (a new conversation). With preparation it
waits until the backend has answered the one-token preparation request (the line its log writes for each turn);
then it times a question only the LLM answers, from sending it to the reply.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from custom_components.havencore.const import DEFAULT_PROMPT
from demo.assist import converse
from demo.ha_client import HomeAssistantClient
from demo.provision import SUBENTRY_FLOW, run_flow
from demo.stack import DemoHome, start_demo
from tests.backend_process import free_port

QUESTION = "Tell me a joke."
# The backend's log line for each chat turn: "llama.cpp turn: 2316 prompt tokens (2290 cached), 1 generated in ...".
TURN_LINE = re.compile(r"llama\.cpp turn: (\d+) prompt tokens \((\d+) cached\), (\d+) generated")


def _turns(home: DemoHome) -> list[tuple[int, int, int]]:
    """Prompt, cached and generated tokens of each chat turn the backend logged."""
    return [(int(a), int(b), int(c)) for a, b, c in TURN_LINE.findall(home.backend.log())]


async def _wait_for_turns(home: DemoHome, count: int) -> None:
    """Waits until the backend has logged ``count`` chat turns."""
    async with asyncio.timeout(300):
        while True:
            if len(_turns(home)) >= count:
                return
            await asyncio.sleep(0.2)


async def _reconfigure(client: HomeAssistantClient, prompt: str, prepare: bool) -> None:
    """Sets the agent's instructions and the preparation option; HA reloads the entry, as after a change in the UI."""
    entries = await client.request("GET", "/api/config/config_entries/entry")
    entry = next(entry for entry in entries if entry["domain"] == "havencore")
    subentries = await client.command("config_entries/subentries/list", entry_id=entry["entry_id"])
    agent = next(sub for sub in subentries if sub["subentry_type"] == "conversation")
    start = {"handler": [entry["entry_id"], "conversation"], "subentry_id": agent["subentry_id"]}
    await run_flow(
        client, start, {"prompt": prompt, "llm_hass_api": ["assist"], "prepare_prompt": prepare}, SUBENTRY_FLOW
    )


async def _first_turn(home: DemoHome, prepare: bool) -> tuple[float, int, int]:
    """Seconds of the first turn after the agent reloads with new instructions; its prompt and cached tokens."""
    # A new conversation: the demo user's earlier turns would otherwise be resumed into the prompt.
    await home.client.call_service("havencore", "clear_history")
    before = len(_turns(home))
    await _reconfigure(home.client, f"Session {uuid.uuid4().hex}.\n{DEFAULT_PROMPT}", prepare)
    if prepare:
        await _wait_for_turns(home, before + 1)
    else:
        await asyncio.sleep(2)
    turns = len(_turns(home))
    started = time.monotonic()
    await converse(home.client, QUESTION, home.entities["conversation"])
    seconds = time.monotonic() - started
    prompt, cached, _generated = _turns(home)[turns]
    return seconds, prompt, cached


async def run(rounds: int) -> str:
    """Starts the demo home and runs ``rounds`` pairs of first turns; returns the Markdown report."""
    results: dict[bool, list[tuple[float, int, int]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="havencore-first-turn-") as tmp:
        home = await start_demo(Path(tmp), free_port(), free_port(), lambda _: None)
        try:
            # The preparation the agent makes when Home Assistant has started.
            await _wait_for_turns(home, 1)
            for _ in range(rounds):
                for prepare in (True, False):
                    results[prepare].append(await _first_turn(home, prepare))
                    seconds, prompt, cached = results[prepare][-1]
                    print(f"prepared={prepare}: {seconds:.2f} s, {prompt} prompt tokens, {cached} cached", flush=True)
        finally:
            await home.stop()
    lines = [
        f"{rounds} rounds on {platform.platform()}, {os.cpu_count()} CPUs",
        "",
        "| first turn | p50 s | each s | prompt tokens | cached |",
        "|---|---|---|---|---|",
    ]
    for prepare, label in ((True, "prepared"), (False, "not prepared")):
        timings = [result[0] for result in results[prepare]]
        lines.append(
            f"| {label} | {statistics.median(timings):.2f} | {', '.join(f'{t:.2f}' for t in timings)} | "
            f"{results[prepare][0][1]} | {', '.join(str(result[2]) for result in results[prepare])} |"
        )
    ratio = statistics.median(r[0] for r in results[True]) / statistics.median(r[0] for r in results[False])
    lines.append(f"\nprepared / not prepared: {ratio:.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.first_turn", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    print(asyncio.run(run(parser.parse_args().rounds)))


if __name__ == "__main__":
    main()
