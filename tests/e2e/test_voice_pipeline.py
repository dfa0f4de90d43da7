"""A spoken command through HavenCore's STT -> agent -> TTS in a real Assist pipeline, audio in to audio out.

Needs the backend's speech servers (capabilities "stt" and "tts"), which the packaged models provide.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from demo.assist import decode_to_pcm, run_pipeline, spoken_command
from demo.stack import DemoHome
from tests.transcripts import assert_heard

pytestmark = pytest.mark.asyncio(loop_scope="session")

SPOKEN_ORDER = ["run-start", "stt-start", "stt-end", "intent-start", "intent-end", "tts-start", "tts-end", "run-end"]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _in_order(types: list[str], wanted: list[str]) -> bool:
    """Whether ``wanted`` occurs in ``types`` in this order (other events, e.g. VAD or progress, may come between)."""
    remaining = iter(types)
    return all(event_type in remaining for event_type in wanted)


async def test_spoken_command_switches_light_and_speaks_the_reply(demo_home: DemoHome) -> None:
    """espeak-ng's "turn on the kitchen light" is heard, switches the light, and the reply's audio says the reply."""
    assert {"stt", "tts"} <= demo_home.entities.keys(), f"the backend has no speech servers: {demo_home.entities}"
    client = demo_home.client
    await client.call_service("light", "turn_off", entity_id="light.kitchen_light")

    command = await asyncio.to_thread(spoken_command, "turn on the kitchen light")
    run = await run_pipeline(client, demo_home.pipeline_id, audio=command)

    assert "error" not in run.types, run.events
    assert _in_order(run.types, SPOKEN_ORDER), run.types
    # tiny.en hears espeak-ng's "the" as "my" now and then; the light's state proves the command was understood.
    assert {"turn", "on", "kitchen", "light"} <= set(_words(run.transcript)), run.transcript
    assert await client.state("light.kitchen_light") == "on"
    reply_audio = await client.read_bytes(run.tts_url)
    heard_back = await run_pipeline(
        client, demo_home.pipeline_id, audio=await asyncio.to_thread(decode_to_pcm, reply_audio), end_stage="stt"
    )
    # The reply's audio says the reply (tiny.en may mishear one word of Piper's varying output).
    assert_heard(heard_back.transcript, run.speech)


async def test_long_reply_streams_into_speech_before_it_ends(demo_home: DemoHome) -> None:
    """A long LLM reply starts text-to-speech while the agent is still talking: HA announces the TTS stream
    (``intent-progress`` with ``tts_start_streaming``) before ``intent-end``."""
    run = await run_pipeline(
        demo_home.client,
        demo_home.pipeline_id,
        audio=await asyncio.to_thread(spoken_command, "tell me a story about a lighthouse keeper in five sentences"),
    )

    assert "error" not in run.types, run.events
    streaming = [index for index, event in enumerate(run.events) if event.data.get("tts_start_streaming") is True]
    assert streaming, run.types
    assert streaming[0] < run.types.index("intent-end") < run.types.index("tts-end"), run.types
    assert len(run.speech) > 100
