"""Evaluation of conversation agents on home commands: right answers, false actions and latency.

Usage: ``.venv-ha/bin/python -m bench.eval_commands [--mode typed|spoken|both] [--agents havencore,home_assistant]
[--model qwen2.5-coder-1.5b]`` from the repository root. It starts the demo home (backend + real hass with template
entities) in a temp dir and runs every case of ``bench.eval_suite`` through an Assist pipeline per agent, the agents
interleaved case by case: typed from the intent stage, or spoken (espeak-ng) through HavenCore's speech-to-text.
Before each case every entity is reset and the case's starting state set; all states are read before and after.
With ``--url`` (and a token in ``HA_TOKEN``) it runs a suite of your own (``--suite``, see ``bench.eval_home_suite``)
against your own Home Assistant instead, one agent per Assist pipeline named in ``--pipelines``.

A case is right when the expected entities reached the expected states, nothing else changed and the reply has the
expected words; any change that was not expected is a false action. Latency is from sending the text (or the end
of the audio) to the agent's reply, split by whether the LLM answered or a local intent did (no LLM stream).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.eval_home_suite import Suite, SuiteError, load_suite
from bench.eval_suite import (
    COMPARED_ATTRIBUTES,
    DEFAULT_NUMERIC_TOLERANCE,
    DEMO_RESET,
    DEMO_SUITE,
    NUMERIC_TOLERANCE,
    Case,
    Expect,
    ServiceCall,
)
from demo.assist import AssistRun, run_pipeline, spoken_command
from demo.ha_client import HomeAssistantClient
from demo.provision import set_up_pipeline
from demo.stack import start_demo
from tests.backend_process import MODELS_DIR, REPO_ROOT, RunningBackend, free_port

HOME_ASSISTANT_AGENT = "conversation.home_assistant"
WARM_UP = Case("good morning", "warm-up")
# What the llama.cpp engine logs for each generation.
_PROMPT_LOG = re.compile(r"llama\.cpp turn: (\d+) prompt tokens \((\d+) cached\)")
# Template entities follow their helpers a moment after an action returns.
SETTLE_S = 0.3

type Snapshot = dict[str, tuple[str, tuple[tuple[str, Any], ...]]]


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent under test and the Assist pipeline that runs it."""

    name: str
    pipeline_id: str


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What one case did with one agent."""

    agent: str
    mode: str
    case: Case
    reply: str
    changes: dict[str, str]  # entity id -> "before -> after"
    missing: list[str]  # expected outcomes that did not happen
    false_actions: list[str]  # entity ids changed without being expected
    missing_words: list[str]
    seconds: float
    llm: bool  # the LLM streamed the reply (else a local intent answered)
    prompts: list[tuple[int, int]]  # per LLM step: prompt tokens and how many came from the cache

    @property
    def raw_reply(self) -> bool:
        """The reply shows JSON or call syntax, which no one should hear."""
        return any(mark in self.reply for mark in ("{", "<tool_call>", '"name":'))

    @property
    def right(self) -> bool:
        """Everything expected happened and was said in words, and nothing else changed."""
        return not (self.missing or self.false_actions or self.missing_words or self.raw_reply)


async def snapshot(client: HomeAssistantClient) -> Snapshot:
    """The state and the compared attributes of every entity an action can change."""
    states: list[dict[str, Any]] = await client.request("GET", "/api/states")
    taken: Snapshot = {}
    for item in states:
        domain = item["entity_id"].split(".", 1)[0]
        if domain in COMPARED_ATTRIBUTES:
            attributes = item.get("attributes") or {}
            taken[item["entity_id"]] = (
                item["state"],
                tuple((name, attributes.get(name)) for name in COMPARED_ATTRIBUTES[domain]),
            )
    return taken


def _describe(state: tuple[str, tuple[tuple[str, Any], ...]]) -> str:
    attributes = ", ".join(f"{name}={value}" for name, value in state[1] if value is not None)
    return f"{state[0]} ({attributes})" if attributes else state[0]


def _matches(expected: Expect, state: tuple[str, tuple[tuple[str, Any], ...]] | None) -> bool:
    if state is None or (expected.state is not None and state[0] != expected.state):
        return False
    actual = dict(state[1])
    for name, wanted in expected.attributes.items():
        value = actual.get(name)
        if isinstance(wanted, float | int) and isinstance(value, float | int):
            if abs(value - wanted) > NUMERIC_TOLERANCE.get(name, DEFAULT_NUMERIC_TOLERANCE):
                return False
        elif value != wanted:
            return False
    return True


def score(
    agent: str, mode: str, case: Case, before: Snapshot, after: Snapshot, run: AssistRun, backend_log: str
) -> CaseResult:
    """Compares the states before and after a case with what it expected, and the reply with its words;
    ``backend_log`` is what the backend logged meanwhile (its prompt token counts)."""
    changed = {entity for entity in before.keys() | after.keys() if before.get(entity) != after.get(entity)}
    missing = [
        f"{entity} should be {expected.state or ''} {dict(expected.attributes) or ''}".strip()
        for entity, expected in case.expect.items()
        if not _matches(expected, after.get(entity))
    ]
    try:
        reply = run.speech
    except (KeyError, TypeError, LookupError):
        reply = f"(no reply: {[event.type for event in run.events]})"
    missing_words = [
        "/".join(group) for group in case.words if not any(word.lower() in reply.lower() for word in group)
    ]
    intent_end = next((event.received_at for event in run.events if event.type == "intent-end"), None)
    origin = run.audio_ended_at if run.audio_ended_at is not None else run.started_at
    end = intent_end if intent_end is not None else run.events[-1].received_at
    return CaseResult(
        agent=agent,
        mode=mode,
        case=case,
        reply=reply,
        changes={
            entity: f"{_describe(before[entity]) if entity in before else '-'} -> "
            f"{_describe(after[entity]) if entity in after else '-'}"
            for entity in sorted(changed)
        },
        missing=missing,
        false_actions=sorted(changed - case.expect.keys()),
        missing_words=missing_words,
        seconds=end - origin,
        llm=any("chat_log_delta" in event.data for event in run.events),
        prompts=[(int(total), int(cached)) for total, cached in _PROMPT_LOG.findall(backend_log)],
    )


@dataclass(frozen=True, slots=True)
class Home:
    """Where the cases run: a Home Assistant, the actions that reset it before each case, and HavenCore's backend
    when the harness started it (its log holds the prompt token counts)."""

    client: HomeAssistantClient
    reset: tuple[ServiceCall, ...]
    backend: RunningBackend | None
    # HavenCore is installed: its history is cleared before each case.
    clear_history: bool


async def run_case(home: Home, agent: Agent, case: Case, audio: bytes | None) -> CaseResult:
    """Resets the home, sets the case's starting state, runs the command and scores it.

    The user's HavenCore history is cleared first: each case is a new conversation, not a follow-up of the
    unrelated one before it (which HavenCore would resume).
    """
    client = home.client
    if home.clear_history:
        await client.call_service("havencore", "clear_history")
    for call in (*home.reset, *case.given):
        await client.call_service(call.domain, call.service, **call.data)
    await asyncio.sleep(SETTLE_S)
    before = await snapshot(client)
    log_start = len(home.backend.log()) if home.backend else 0
    run = await run_pipeline(
        client, agent.pipeline_id, text=None if audio else case.text, audio=audio, end_stage="intent"
    )
    await asyncio.sleep(SETTLE_S)
    after = await snapshot(client)
    backend_log = home.backend.log()[log_start:] if home.backend else ""
    return score(agent.name, "spoken" if audio else "typed", case, before, after, run, backend_log)


def _seconds(values: Sequence[float]) -> str:
    if not values:
        return "– | –"
    if len(values) == 1:
        return f"{values[0]:.2f} | {values[0]:.2f}"
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18]
    return f"{statistics.median(values):.2f} | {p95:.2f}"


def summary(results: Sequence[CaseResult]) -> str:
    """One Markdown row per agent and mode: right, false actions, latency by path."""
    rows = [
        "| agent | mode | right | false actions | LLM turns | LLM p50 / p95 s | local turns | local p50 / p95 s "
        "| prompt tokens per LLM step p50 / max | cached |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for result in results:
        groups.setdefault((result.agent, result.mode), []).append(result)
    for (agent, mode), group in groups.items():
        right = sum(result.right for result in group)
        false_cases = sum(bool(result.false_actions) for result in group)
        llm = [result.seconds for result in group if result.llm]
        local = [result.seconds for result in group if not result.llm]
        prompts = [step for result in group for step in result.prompts]
        tokens = (
            f"{statistics.median(total for total, _ in prompts):.0f} / {max(total for total, _ in prompts)} | "
            f"{100 * sum(cached for _, cached in prompts) / max(1, sum(total for total, _ in prompts)):.0f} %"
            if prompts
            else "– | –"
        )
        rows.append(
            f"| {agent} | {mode} | {right}/{len(group)} ({100 * right / len(group):.0f} %) | {false_cases} | "
            f"{len(llm)} | {_seconds(llm).replace(' | ', ' / ')} | {len(local)} | "
            f"{_seconds(local).replace(' | ', ' / ')} | {tokens} |"
        )
    return "\n".join(rows)


def by_kind(results: Sequence[CaseResult]) -> str:
    """Right answers per kind of command, one column per agent and mode."""
    columns = list(dict.fromkeys((result.agent, result.mode) for result in results))
    kinds = list(dict.fromkeys(result.case.kind for result in results))
    rows = [
        "| kind | " + " | ".join(f"{agent} {mode}" for agent, mode in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for kind in kinds:
        cells = []
        for column in columns:
            group = [r for r in results if (r.agent, r.mode) == column and r.case.kind == kind]
            cells.append(f"{sum(r.right for r in group)}/{len(group)}")
        rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def failures(results: Sequence[CaseResult]) -> str:
    """Every case that was not right, with what went wrong and what the agent said."""
    lines = []
    for result in results:
        if result.right:
            continue
        problems = [
            *(f"missing: {item}" for item in result.missing),
            *(f"FALSE ACTION: {entity} {result.changes[entity]}" for entity in result.false_actions),
            *(f"reply lacks: {words}" for words in result.missing_words),
            *(["raw JSON in the reply"] if result.raw_reply else []),
        ]
        path = "LLM" if result.llm else "local"
        lines.append(
            f'- {result.agent} {result.mode} ({path}, {result.seconds:.2f} s) "{result.case.text}": '
            f'{"; ".join(problems)}; reply: "{" ".join(result.reply.split())[:160]}"'
        )
    return "\n".join(lines) or "(none)"


async def _pipelines(client: HomeAssistantClient, names: Sequence[str], havencore_pipeline: str) -> list[Agent]:
    agents = []
    for name in names:
        if name == "havencore":
            agents.append(Agent(name, havencore_pipeline))
        else:
            pipeline = await set_up_pipeline(
                client, "Home Assistant (evaluation)", HOME_ASSISTANT_AGENT, preferred=False
            )
            agents.append(Agent(name, pipeline))
    return agents


async def evaluate_in(
    home: Home, agents: Sequence[Agent], modes: Sequence[str], cases: Sequence[Case]
) -> list[CaseResult]:
    """Runs every case with every agent in every mode, interleaved, after a warm-up."""
    # Warm-up, a local and an LLM turn: first-use loading and the first prefill of the instructions and tools
    # (minutes for the 1.5B model on 2 cores) are not a turn's latency.
    for agent in agents:
        for case in (cases[0], WARM_UP):
            await run_case(home, agent, case, None)
    results = []
    for index, case in enumerate(cases):
        for mode in modes:
            audio = await asyncio.to_thread(spoken_command, case.text) if mode == "spoken" else None
            for agent in agents:
                result = await run_case(home, agent, case, audio)
                mark = "ok" if result.right else "WRONG"
                print(
                    f"[{index + 1}/{len(cases)}] {agent.name} {mode} {mark} {result.seconds:.2f}s "
                    f"{case.text!r} -> {' '.join(result.reply.split())[:100]!r}",
                    file=sys.stderr,
                    flush=True,
                )
                results.append(result)
    return results


async def evaluate(
    agent_names: Sequence[str], modes: Sequence[str], backend_args: tuple[str, ...], cases: Sequence[Case]
) -> list[CaseResult]:
    """Starts the demo home in a temp dir and runs every case with every agent in every mode, interleaved."""
    with tempfile.TemporaryDirectory(prefix="havencore-eval-") as tmp:
        home = await start_demo(Path(tmp), free_port(), free_port(), lambda _: None, backend_args)
        try:
            if "spoken" in modes and "stt" not in home.entities:
                raise SystemExit("spoken mode needs the backend's speech-to-text (the packaged Whisper model)")
            agents = await _pipelines(home.client, agent_names, home.pipeline_id)
            return await evaluate_in(Home(home.client, DEMO_RESET, home.backend, True), agents, modes, cases)
        finally:
            await home.stop()


async def evaluate_own_home(
    url: str, token: str, pipeline_names: Sequence[str], modes: Sequence[str], suite: Suite
) -> list[CaseResult]:
    """Runs a suite of your own against your own Home Assistant, one agent per Assist pipeline named (the
    preferred pipeline when none is)."""
    async with HomeAssistantClient(url.rstrip("/"), token) as client:
        listing = await client.command("assist_pipeline/pipeline/list")
        by_name = {pipeline["name"]: pipeline["id"] for pipeline in listing["pipelines"]}
        if not pipeline_names:
            preferred = listing["preferred_pipeline"]
            pipeline_names = [name for name, pipeline_id in by_name.items() if pipeline_id == preferred]
        if unknown := [name for name in pipeline_names if name not in by_name]:
            raise SystemExit(f"no Assist pipeline named {', '.join(unknown)}; there are: {', '.join(by_name)}")
        agents = [Agent(name, by_name[name]) for name in pipeline_names]
        services = await client.request("GET", "/api/services")
        havencore = any(entry["domain"] == "havencore" and "clear_history" in entry["services"] for entry in services)
        return await evaluate_in(Home(client, suite.reset, None, havencore), agents, modes, suite.cases)


def report(results: Sequence[CaseResult], model: str) -> str:
    """The whole Markdown report: the summary, right answers by kind, and the failures."""
    return "\n\n".join(
        (
            f"Model {model}, {len({r.case.text for r in results})} cases, on {platform.platform()}, "
            f"{os.cpu_count()} CPUs",
            summary(results),
            by_kind(results),
            "Failures:\n" + failures(results),
        )
    )


def _backend_args(model: str | None) -> tuple[str, ...]:
    """The backend's chat model setting for an optional packaged model, installed first when it is missing."""
    if model is None:
        return ()
    path = MODELS_DIR / model / "model.gguf"
    if not path.is_file():
        uv = Path(os.environ.get("HAVENCORE_CACHE", Path.home() / ".cache" / "havencore")) / "tools" / "bin" / "uv"
        if not uv.is_file():
            raise SystemExit(f"{uv} is missing: run scripts/setup first")
        installer = REPO_ROOT / "scripts" / "install_models.py"
        subprocess.run([sys.executable, str(installer), str(uv), str(MODELS_DIR), model], check=True)
    return ("--llm-model", str(path), "--llm-served-name", model)


def main(argv: Sequence[str] | None = None) -> None:
    """Parses the arguments, runs the evaluation and prints the report."""
    parser = argparse.ArgumentParser(prog="bench.eval_commands", description=__doc__)
    parser.add_argument("--mode", choices=["typed", "spoken", "both"], default="typed")
    parser.add_argument("--agents", default="havencore,home_assistant", help="havencore and/or home_assistant")
    parser.add_argument(
        "--model", help="an optional packaged chat model, installed when missing: qwen2.5-coder-1.5b-instruct-q4_k_m"
    )
    parser.add_argument(
        "--no-tool-grammar", action="store_true", help="run the backend without the tool-call grammar, to compare"
    )
    parser.add_argument("--cases", type=int, default=0, help="run only the first N cases (0: all)")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    own = parser.add_argument_group(
        "your own home", "run a suite of your own (see bench/eval_home_suite.py) against your Home Assistant"
    )
    own.add_argument("--url", help="your Home Assistant's URL, e.g. http://homeassistant.local:8123")
    own.add_argument("--suite", type=Path, help="the suite's YAML file")
    own.add_argument(
        "--pipelines", default="", help="Assist pipelines to compare, by name, comma-separated (default: preferred)"
    )
    args = parser.parse_args(argv)
    modes = ["typed", "spoken"] if args.mode == "both" else [args.mode]
    if args.url:
        token = os.environ.get("HA_TOKEN", "")
        if not token or args.suite is None:
            parser.error("--url needs --suite and a long-lived access token in the HA_TOKEN environment variable")
        try:
            suite = load_suite(args.suite)
        except SuiteError as err:
            parser.error(str(err))
        cases = suite.cases[: args.cases] if args.cases else suite.cases
        pipelines = [name.strip() for name in args.pipelines.split(",") if name.strip()]
        results = asyncio.run(evaluate_own_home(args.url, token, pipelines, modes, replace(suite, cases=cases)))
        text = report(results, f"your own home, suite {args.suite.name}")
        print(text)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        return
    agents = [name.strip() for name in args.agents.split(",") if name.strip()]
    if not agents or set(agents) - {"havencore", "home_assistant"}:
        parser.error("--agents takes havencore and/or home_assistant")
    os.environ["HF_HUB_OFFLINE"] = "1"
    cases = DEMO_SUITE[: args.cases] if args.cases else DEMO_SUITE
    backend_args = _backend_args(args.model) + (("--llm-tool-grammar", "false") if args.no_tool_grammar else ())
    results = asyncio.run(evaluate(agents, modes, backend_args, cases))
    model = args.model or "packaged default (Qwen2.5-Coder 0.5B)"
    text = report(results, model + (", no tool grammar" if args.no_tool_grammar else ""))
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
