"""Any home fits (issue 17): the same commands through HavenCore's agent and Home Assistant's own, in generated homes
of many sizes, and the prompt HA's own LLM integrations would send for each home.

Usage: ``.venv-ha/bin/python -m bench.eval_homes --sizes 15,40,150,500,2000`` from the repository root. For each size
it generates a home (``bench.generated_home``, the same for a seed and a size), starts the backend and a real
``hass`` with it in a temp dir (``bench.generated_stack``), and runs the home's commands (``bench.generated_commands``)
through an Assist pipeline per agent, scored as ``bench.eval_commands`` scores the demo's: right, false actions,
latency by path, prompt tokens per LLM step from the backend's log. A reply that carries an internal error (a backend
refusal, a context overflow, an HTTP status) is counted. Then one LLM turn goes to Home Assistant's ``ollama``
agent (Assist API on, context 4096) on ``bench.ollama_standin``, which counts the prompt it received with the same
model's chat template and tokenizer: what a user of HA's own integration would send for that home.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiohttp

from demo.provision import integration_entities
from demo.stack import DemoHome

from .assist_latency import _first_request, _PendingTurn, _reference_request_tokens
from .big_home import exposed_entity_ids
from .eval_commands import CaseResult, Home, _pipelines, _seconds, by_kind, evaluate_in, failures
from .generated_commands import home_commands
from .generated_home import DEFAULT_SEED, SIZES, generate_home, reset_actions
from .generated_stack import start_generated_home
from .reference_stack import (
    HA_EXTRA_SITE,
    ReferenceStack,
    _add_ollama_agent,
    _wait_for_standin,
    ha_environment,
    start_standin,
)
from .reply_errors import internal_error

# What HavenCore's agent says when the backend refused a prompt longer than the window.
_OVERFLOW = re.compile(r"maximum context length is \d+ tokens; the messages use (\d+)")


@dataclass(frozen=True, slots=True)
class SizeRun:
    """One home's results: how many entities Assist saw, every case with every agent, and the prompt tokens of
    HA's ``ollama`` agent (None when not measured)."""

    size: int
    exposed: int
    results: list[CaseResult]
    assist_api_tokens: int | None


def _start_standin(work: Path) -> ReferenceStack:
    """The Ollama stand-in alone, without the speech servers."""
    work.mkdir(parents=True, exist_ok=True)
    return ReferenceStack([], *start_standin(work))


async def assist_api_tokens(home: DemoHome, work: Path) -> int:
    """Adds HA's ``ollama`` agent on the stand-in and returns the prompt tokens of its first request for one LLM
    turn; the turn itself is abandoned (a prompt over the window is refused, and counted all the same)."""
    stack = _start_standin(work)
    pending: list[_PendingTurn] = []
    try:
        await _wait_for_standin(stack)
        await _add_ollama_agent(home.client, stack.standin_url)
        async with asyncio.timeout(60):
            while True:
                ollama = await integration_entities(home.client, "ollama")
                if "conversation" in ollama:
                    break
                await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as session:
            sent = partial(_reference_request_tokens, session, stack.standin_url, 0)
            return await _first_request(home, ollama["conversation"], sent, pending)
    finally:
        for turn in pending:
            await turn.abandon()
        await asyncio.to_thread(stack.stop)


async def run_size(
    size: int, seed: int, agent_names: Sequence[str], cases_limit: int, reference: bool, work: Path
) -> SizeRun:
    """Generates the home, starts it and runs its commands with every agent, interleaved."""
    home = generate_home(size, seed)
    cases = home_commands(home)
    cases = cases[:cases_limit] if cases_limit else cases
    print(f"== {size} entities: {len(home.areas)} areas, {len(cases)} commands", file=sys.stderr, flush=True)
    stack = await start_generated_home(work / str(size), home)
    try:
        agents = await _pipelines(stack.client, agent_names, stack.pipeline_id)
        exposed = len(await exposed_entity_ids(stack.client))
        evaluation_home = Home(stack.client, reset_actions(home), stack.backend, clear_history=True)
        results = await evaluate_in(evaluation_home, agents, ["typed"], cases)
        tokens = await assist_api_tokens(stack, work / str(size) / "reference") if reference else None
    finally:
        await stack.stop()
    return SizeRun(size, exposed, results, tokens)


def _p50_p95(values: Sequence[float]) -> str:
    return _seconds(values).replace(" | ", " / ")


def _row(run: SizeRun, agent: str) -> str:
    group = [result for result in run.results if result.agent == agent]
    right = sum(result.right for result in group)
    failed = [internal_error(result.reply) is not None for result in group]
    overflows = [int(match.group(1)) for result in group if (match := _OVERFLOW.search(result.reply))]
    # A refused turn ends at once: its time is not an answer's.
    llm = [result.seconds for result, error in zip(group, failed, strict=True) if result.llm and not error]
    local = [result.seconds for result in group if not result.llm]
    prompts = [total for result in group for total, _ in result.prompts]
    ours = agent == "havencore"
    cells = [
        str(run.exposed),
        agent,
        f"{right}/{len(group)} ({100 * right / max(1, len(group)):.0f} %)",
        str(sum(bool(result.false_actions) for result in group)),
        str(sum(failed)),
        f"{len(overflows)} (up to {max(overflows)})" if overflows else "0",
        str(sum(result.llm for result in group)),
        _p50_p95(llm),
        str(len(local)),
        _p50_p95(local),
        (f"{statistics.median(prompts):.0f} / {max(prompts)}" if prompts else "–") if ours else "",
        str(run.assist_api_tokens) if ours and run.assist_api_tokens is not None else "",
    ]
    return "| " + " | ".join(cells) + " |"


def report(runs: Sequence[SizeRun], seed: int) -> str:
    """The Markdown report: one row per size and agent, then right answers by kind and the failures per size."""
    agents = list(dict.fromkeys(result.agent for run in runs for result in run.results))
    rows = [
        "| exposed entities | agent | right | false actions | internal errors | over the window (prompt tokens) "
        "| LLM turns | LLM p50 / p95 s (no error) | local turns | local p50 / p95 s "
        "| HavenCore prompt tokens p50 / max | HA Assist API prompt tokens (ollama) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row(run, agent) for run in runs for agent in agents),
    ]
    parts = [
        f"Generated homes (seed {seed}), typed commands, packaged Qwen2.5-Coder 0.5B (4,096-token window), on "
        f"{platform.platform()}, {os.cpu_count()} CPUs",
        "\n".join(rows),
    ]
    for run in runs:
        parts += [f"### {run.exposed} exposed entities", by_kind(run.results), "Failures:\n" + failures(run.results)]
    return "\n\n".join(parts)


async def _run_all(
    sizes: Sequence[int], seed: int, agents: Sequence[str], cases: int, reference: bool, work: Path
) -> list[SizeRun]:
    runs = []
    for size in sizes:
        runs.append(await run_size(size, seed, agents, cases, reference, work))
        print(report(runs[-1:], seed), file=sys.stderr, flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    """Parses the arguments, runs every size and prints the report."""
    parser = argparse.ArgumentParser(prog="bench.eval_homes", description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="exposed entities per home, e.g. 15,40")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--agents", default="havencore,home_assistant", help="havencore and/or home_assistant")
    parser.add_argument("--cases", type=int, default=0, help="run only each home's first N commands (0: all)")
    parser.add_argument(
        "--no-reference-tokens", action="store_true", help="skip the prompt tokens of HA's own ollama agent"
    )
    parser.add_argument("--work-dir", type=Path, help="keep every home, log and home-assistant.log here")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    agents = [name.strip() for name in args.agents.split(",") if name.strip()]
    if not agents or set(agents) - {"havencore", "home_assistant"}:
        parser.error("--agents takes havencore and/or home_assistant")
    reference = not args.no_reference_tokens
    if reference and not (HA_EXTRA_SITE / "ollama").is_dir():
        parser.error(
            f"HA's ollama integration needs its client in {HA_EXTRA_SITE} (bench/assist.sh installs it): "
            "install it, or pass --no-reference-tokens"
        )
    os.environ["HF_HUB_OFFLINE"] = "1"
    if reference:
        os.environ.update(ha_environment())  # hass inherits it
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        runs = asyncio.run(_run_all(sizes, args.seed, agents, args.cases, reference, args.work_dir))
    else:
        with tempfile.TemporaryDirectory(prefix="havencore-homes-") as tmp:
            runs = asyncio.run(_run_all(sizes, args.seed, agents, args.cases, reference, Path(tmp)))
    text = report(runs, args.seed)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
