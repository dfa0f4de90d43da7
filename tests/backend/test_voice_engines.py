"""Engine choice by configuration: Kokoro instead of Piper, no packaged model, and a model that fails to load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI
from wyoming.asr import Transcript
from wyoming.error import Error

from tests.backend.voice_clients import describe, synthesize, transcribe
from tests.backend_process import RunningBackend, http_get, start_backend
from tests.transcripts import assert_heard


@pytest.fixture(scope="module")
def kokoro_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    """A backend speaking with the packaged Kokoro model (Japanese voices reading English through espeak-ng)."""
    running = start_backend(
        tmp_path_factory.mktemp("kokoro"),
        extra_args=("--tts-engine", "kokoro", "--tts-voice", "jf_alpha", "--openai-voices", "alloy=jf_alpha"),
        wait_until_loaded=True,
    )
    yield running
    running.stop()


async def test_kokoro_voices_come_from_its_voice_file(kokoro_backend: RunningBackend) -> None:
    tts = (await describe(kokoro_backend.tts_port)).tts[0]
    assert {voice.name for voice in tts.voices} == {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}
    assert all(voice.languages == ["ja", "en-US"] for voice in tts.voices)


async def test_kokoro_round_trip_over_wyoming(kokoro_backend: RunningBackend) -> None:
    audio, rate = await synthesize(kokoro_backend.tts_port, "What is the weather like today?", voice="jf_alpha")
    assert rate == 24000
    result = await transcribe(kokoro_backend.stt_port, audio, rate)
    assert isinstance(result, Transcript)
    assert_heard(result.text, ["what", "is", "the", "weather", "like", "today"])


def test_kokoro_round_trip_over_http(kokoro_backend: RunningBackend) -> None:
    with OpenAI(base_url=f"{kokoro_backend.url}/v1", api_key="unused", max_retries=0, timeout=120) as client:
        speech = client.audio.speech.create(
            model="kokoro", voice="alloy", input="Good morning. The coffee is ready.", response_format="mp3"
        ).read()
        result = client.audio.transcriptions.create(model="whisper-tiny.en", file=("speech.mp3", speech))
    assert_heard(result.text, ["good", "morning", "the", "coffee", "is", "ready"])


def test_without_models_voice_is_reported_not_configured(data_dir: Path, tmp_path: Path) -> None:
    running = start_backend(data_dir, extra_args=("--models", str(tmp_path / "no-models")))
    try:
        status, body = http_get(f"{running.url}/health")
        assert status == 200
        assert body["components"]["stt"]["status"] == "not_configured"
        assert body["components"]["tts"]["status"] == "not_configured"
        status, body = http_get(f"{running.url}/v1/audio/voices")
        assert status == 503
        assert body["error"]["message"] == "text-to-speech is not configured on this backend"
        assert "stt" not in http_get(f"{running.url}/v1/havencore/info")[1]["capabilities"]
    finally:
        running.stop()


async def test_a_model_that_cannot_load_is_an_error_not_a_crash(data_dir: Path) -> None:
    # HF_HUB_OFFLINE is set for the tests, so a hub id that is not cached cannot be fetched.
    hub_model = ("--stt-model", "Systran/faster-whisper-small")
    running = start_backend(data_dir, extra_args=hub_model, wait_until_loaded=True)
    try:
        status, body = http_get(f"{running.url}/health")
        assert status == 503
        assert body["components"]["stt"]["status"] == "error"
        assert "Systran/faster-whisper-small failed to load" in body["components"]["stt"]["detail"]
        assert body["components"]["tts"]["status"] == "ok"
        result = await transcribe(running.stt_port, b"\0" * 3200, 16000)
        assert isinstance(result, Error)
        assert result.code == "stt-unavailable"
        audio, _ = await synthesize(running.tts_port, "Still speaking.")
        assert audio
    finally:
        running.stop()
