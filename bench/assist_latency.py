"""Assist turn latency through HavenCore's pipeline, per stage, over HA's websocket API as a satellite sees it.

Usage: ``.venv-ha/bin/python -m bench.assist_latency [--turns 20]`` from the repository root. It starts the demo home
(backend + real hass) in a temp dir, runs each command through the preferred HavenCore pipeline, spoken (espeak-ng)
when the backend has speech-to-text and typed otherwise, and prints p50/p95 per stage as a Markdown table.
Stages are measured from the end of speech (the last audio frame sent) or, for typed turns, from sending the command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from demo.assist import AssistRun, PipelineEvent, run_pipeline, spoken_command
from demo.stack import DemoHome, start_demo
from tests.backend_process import free_port

COMMANDS = (
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


@dataclass(frozen=True, slots=True)
class TurnTiming:
    """Seconds from the end of speech (or the typed run's start) to each stage's end; None where it did not run."""

    stt: float | None
    first_token: float | None
    reply: float
    first_audio: float | None


def _time_of(run: AssistRun, event_type: str) -> float | None:
    return next((e.received_at for e in run.events if e.type == event_type), None)


async def measure_turn(home: DemoHome, command: str) -> TurnTiming:
    """Runs one command and times its stages; the TTS stream is read as soon as ``run-start`` announces it."""
    audio = await asyncio.to_thread(spoken_command, command) if "stt" in home.entities else None
    reading: list[asyncio.Task[float]] = []

    def start_reading(event: PipelineEvent) -> None:
        tts_output = event.data.get("tts_output") if event.type == "run-start" else None
        if tts_output and tts_output.get("stream_response"):
            reading.append(asyncio.create_task(home.client.first_byte_at(tts_output["url"])))

    end_stage = "tts" if "tts" in home.entities else "intent"
    run = await run_pipeline(
        home.client,
        home.pipeline_id,
        text=None if audio else command,
        audio=audio,
        end_stage=end_stage,
        on_event=start_reading,
        realtime=True,
    )
    if "error" in run.types:
        raise RuntimeError(f"{command!r} failed: {run.events}")
    origin = run.audio_ended_at if run.audio_ended_at is not None else run.started_at
    first_delta = next((e.received_at for e in run.events if e.data.get("chat_log_delta")), None)
    stt_end, intent_end = _time_of(run, "stt-end"), _time_of(run, "intent-end")
    assert intent_end is not None
    first_audio = await reading[0] if reading else None
    return TurnTiming(
        stt=stt_end - origin if stt_end is not None else None,
        first_token=first_delta - origin if first_delta is not None else None,
        reply=intent_end - origin,
        first_audio=first_audio - origin if first_audio is not None else None,
    )


def _percentiles(values: list[float]) -> str:
    if not values:
        return "– | –"
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return f"{statistics.median(values):.3f} | {cuts[18]:.3f}"


def report(timings: list[TurnTiming], spoken: bool) -> str:
    """The Markdown table of p50/p95 per stage."""
    origin = "end of speech" if spoken else "typed command"
    rows = [f"| stage (seconds after the {origin}) | p50 | p95 |", "|---|---|---|"]
    for name, values in (
        ("speech-to-text done", [t.stt for t in timings]),
        ("first LLM token", [t.first_token for t in timings]),
        ("agent reply done", [t.reply for t in timings]),
        ("first TTS audio byte", [t.first_audio for t in timings]),
    ):
        rows.append(f"| {name} | {_percentiles([v for v in values if v is not None])} |")
    return "\n".join(rows)


async def _main(turns: int) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory(prefix="havencore-bench-") as tmp:
        home = await start_demo(Path(tmp), free_port(), free_port(), progress=lambda _: None)
        try:
            await measure_turn(home, COMMANDS[0])  # warm-up: first-use loading is not a turn's latency
            timings = [await measure_turn(home, COMMANDS[i % len(COMMANDS)]) for i in range(turns)]
            print(
                f"HavenCore pipeline, {turns} turns, engines {sorted(home.entities)}, on {platform.platform()}, "
                f"{os.cpu_count()} CPUs"
            )
            print(report(timings, spoken="stt" in home.entities))
        finally:
            await home.stop()


def main() -> None:
    """Parses the arguments and runs the benchmark."""
    parser = argparse.ArgumentParser(prog="bench.assist_latency", description=__doc__)
    parser.add_argument("--turns", type=int, default=20, help="measured turns (at least 20 for p95)")
    asyncio.run(_main(parser.parse_args().turns))


if __name__ == "__main__":
    main()
