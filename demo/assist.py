"""Assist turns as a client runs them: typed through ``conversation/process``, or through ``assist_pipeline/run``
from text or from audio, with every pipeline event and when it arrived."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .ha_client import HomeAssistantClient, HomeAssistantError

SAMPLE_RATE = 16000
# 100 ms of 16-bit mono audio per websocket frame, as a satellite streams it.
CHUNK_BYTES = SAMPLE_RATE // 10 * 2


@dataclass(frozen=True, slots=True)
class PipelineEvent:
    """One event of an Assist run and the monotonic time it reached the client."""

    type: str
    data: dict[str, Any]
    received_at: float


@dataclass(slots=True)
class AssistRun:
    """Every event of one ``assist_pipeline/run``, in arrival order."""

    # When the client sent the run's command.
    started_at: float = field(default_factory=time.monotonic)
    events: list[PipelineEvent] = field(default_factory=list)
    # When the client sent the end of the audio: the user's end of speech, as a satellite sees it.
    audio_ended_at: float | None = None

    @property
    def types(self) -> list[str]:
        """The event types in arrival order."""
        return [event.type for event in self.events]

    def first(self, event_type: str) -> PipelineEvent:
        """The first event of a type; raises with the run's events when there is none."""
        for event in self.events:
            if event.type == event_type:
                return event
        raise HomeAssistantError(f"no {event_type} event in the run: {self.events}")

    @property
    def transcript(self) -> str:
        """What speech-to-text heard."""
        text: str = self.first("stt-end").data["stt_output"]["text"]
        return text

    @property
    def speech(self) -> str:
        """The agent's spoken reply."""
        response = self.first("intent-end").data["intent_output"]["response"]
        text: str = response["speech"]["plain"]["speech"]
        return text

    @property
    def tts_url(self) -> str:
        """Where the reply's audio is served (a path on Home Assistant)."""
        url: str = self.first("tts-end").data["tts_output"]["url"]
        return url


async def converse(client: HomeAssistantClient, text: str, agent_id: str) -> str:
    """A typed turn through ``conversation/process``; returns the agent's reply."""
    result = await client.command("conversation/process", text=text, agent_id=agent_id, language="en")
    speech: str = result["response"]["speech"]["plain"]["speech"]
    return speech


async def run_pipeline(
    client: HomeAssistantClient,
    pipeline_id: str,
    *,
    text: str | None = None,
    audio: bytes | None = None,
    end_stage: str = "tts",
    on_event: Callable[[PipelineEvent], None] | None = None,
    realtime: bool = False,
) -> AssistRun:
    """Runs the pipeline from typed ``text`` (intent stage) or from 16 kHz 16-bit mono ``audio`` (STT stage),
    streaming the audio in 100 ms frames once the run starts (``realtime``: paced as a microphone delivers them),
    until ``run-end``; ``on_event`` sees each event as it arrives (e.g. to read the TTS stream ``run-start`` names)."""
    if (text is None) == (audio is None):
        raise ValueError("give either text or audio")
    run_input: dict[str, Any] = {"text": text} if audio is None else {"sample_rate": SAMPLE_RATE}
    run = AssistRun()
    events = client.subscribe(
        "assist_pipeline/run",
        pipeline=pipeline_id,
        start_stage="intent" if audio is None else "stt",
        end_stage=end_stage,
        input=run_input,
    )
    async for event in events:
        received = PipelineEvent(event["type"], event.get("data") or {}, time.monotonic())
        run.events.append(received)
        if on_event is not None:
            on_event(received)
        if event["type"] == "run-start" and audio is not None:
            prefix = bytes([event["data"]["runner_data"]["stt_binary_handler_id"]])
            for start in range(0, len(audio), CHUNK_BYTES):
                await client.send_binary(prefix + audio[start : start + CHUNK_BYTES])
                if realtime:
                    await asyncio.sleep(CHUNK_BYTES / 2 / SAMPLE_RATE)
            await client.send_binary(prefix)  # the prefix alone ends the audio
            run.audio_ended_at = time.monotonic()
        if event["type"] == "run-end":
            break
    await events.aclose()
    return run


def decode_to_pcm(audio: bytes) -> bytes:
    """Any audio file (WAV, MP3, ...) as the 16 kHz 16-bit mono PCM an Assist satellite sends."""
    return subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"],
        input=audio,
        check=True,
        capture_output=True,
    ).stdout


def spoken_command(text: str) -> bytes:
    """``text`` spoken by espeak-ng, as the PCM an Assist satellite sends."""
    return decode_to_pcm(subprocess.run(["espeak-ng", "--stdout", text], check=True, capture_output=True).stdout)
