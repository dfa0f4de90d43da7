"""HavenCore's own STT and TTS entities, and a whole Assist pipeline from audio in to audio out, on the real backend."""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
from homeassistant.components import assist_pipeline, stt, tts
from homeassistant.components.assist_pipeline.pipeline import async_create_default_pipeline, async_update_pipeline
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.components.tts.helper import get_engine_instance
from homeassistant.const import CONF_API_KEY, CONF_URL, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component

from custom_components.havencore.const import DOMAIN
from tests.backend_process import RunningBackend, start_backend
from tests.integration.audio import STT_METADATA, as_16_khz_pcm, stream_pcm
from tests.integration.conftest import API_KEY
from tests.integration.home import async_set_up_home
from tests.transcripts import assert_heard, words
from tests.wav import pcm_to_wav

STT_ENTITY = "stt.havencore_speech_to_text"
TTS_ENTITY = "tts.havencore_text_to_speech"


async def _set_up(hass: HomeAssistant, backend: RunningBackend) -> None:
    assert await async_setup_component(hass, "ffmpeg", {})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    await hass.async_block_till_done()
    assert hass.states.get(STT_ENTITY) is not None
    assert hass.states.get(TTS_ENTITY) is not None


def _stt(hass: HomeAssistant) -> stt.SpeechToTextEntity:
    entity = stt.async_get_speech_to_text_entity(hass, STT_ENTITY)
    assert entity is not None
    return entity


def _tts(hass: HomeAssistant) -> tts.TextToSpeechEntity:
    entity = get_engine_instance(hass, TTS_ENTITY)
    assert isinstance(entity, tts.TextToSpeechEntity)
    return entity


async def _transcribe(hass: HomeAssistant, wav_bytes: bytes) -> list[str]:
    result = await _stt(hass).async_process_audio_stream(STT_METADATA, stream_pcm(as_16_khz_pcm(wav_bytes)))
    assert result.result is stt.SpeechResultState.SUCCESS
    return words(result.text)


async def test_speech_entities_offer_the_backends_languages_and_voices(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    await _set_up(hass_with_core, backend)
    assert "en" in _stt(hass_with_core).supported_languages
    voices = _tts(hass_with_core).async_get_supported_voices(_tts(hass_with_core).default_language)
    assert voices


async def test_tts_audio_transcribes_back_through_the_stt_entity(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    await _set_up(hass, backend)
    tts_entity = _tts(hass)

    extension, audio = await tts_entity.async_get_tts_audio(
        "Please close the garage door.", tts_entity.default_language, dict(tts_entity.default_options or {})
    )

    assert extension == "wav"
    assert audio is not None
    # Whisper tiny.en now and then mishears the first word of Piper's varying output; the rest must be right.
    assert (await _transcribe(hass, audio))[-4:] == ["close", "the", "garage", "door"]


async def test_streamed_tts_speaks_text_as_it_arrives(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    await _set_up(hass, backend)
    tts_entity = _tts(hass)
    assert tts_entity.async_supports_streaming_input()

    async def text() -> AsyncGenerator[str]:
        for piece in ("Good morning. ", "The coffee ", "is ready. ", "Please close ", "the garage door."):
            yield piece

    response = await tts_entity.async_stream_tts_audio(
        TTSAudioRequest(tts_entity.default_language, dict(tts_entity.default_options or {}), text())
    )
    audio = b"".join([chunk async for chunk in response.data_gen])

    assert response.extension == "wav"
    with wave.open(io.BytesIO(audio)) as reader:
        rate = reader.getframerate()
    # A streamed WAV's header has no length; the PCM after it is what the backend spoke.
    heard = await _transcribe(hass, pcm_to_wav(audio[44:], rate))
    # Every sentence of the stream was spoken (tiny.en may mishear a word of Piper's varying output).
    assert heard[:2] == ["good", "morning"]
    assert "coffee" in heard
    assert heard[-3:] == ["the", "garage", "door"]


async def test_assist_pipeline_from_speech_to_speech(
    hass_with_core: HomeAssistant, backend: RunningBackend, speech_wav: bytes
) -> None:
    hass = hass_with_core
    await async_set_up_home(hass)
    await _set_up(hass, backend)
    assert await async_setup_component(hass, "assist_pipeline", {})
    agents = [entity_id for entity_id in hass.states.async_entity_ids("conversation") if "havencore" in entity_id]
    pipeline = await async_create_default_pipeline(
        hass, stt_engine_id=STT_ENTITY, tts_engine_id=TTS_ENTITY, pipeline_name="HavenCore"
    )
    assert pipeline is not None
    await async_update_pipeline(hass, pipeline, conversation_engine=agents[0])
    events: list[assist_pipeline.PipelineEvent] = []

    await assist_pipeline.async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=events.append,
        stt_metadata=STT_METADATA,
        stt_stream=stream_pcm(as_16_khz_pcm(speech_wav)),
        pipeline_id=pipeline.id,
        conversation_extra_system_prompt=None,
    )

    types = [event.type for event in events]
    assert types[0] is assist_pipeline.PipelineEventType.RUN_START
    assert types[-1] is assist_pipeline.PipelineEventType.RUN_END
    assert assist_pipeline.PipelineEventType.ERROR not in types, events
    stt_end = next(event for event in events if event.type is assist_pipeline.PipelineEventType.STT_END)
    assert stt_end.data is not None
    assert_heard(stt_end.data["stt_output"]["text"], ["turn", "on", "the", "kitchen", "light"])
    tts_end = next(event for event in events if event.type is assist_pipeline.PipelineEventType.TTS_END)
    assert tts_end.data is not None
    assert tts_end.data["tts_output"]["url"]
    state = hass.states.get("light.kitchen_light")
    assert state is not None
    assert state.state == "on"


@pytest.fixture
def speech_wav() -> bytes:
    """A spoken command made with espeak-ng."""
    return subprocess.run(
        ["espeak-ng", "--stdout", "Turn on the kitchen light."], check=True, capture_output=True
    ).stdout


async def test_unknown_voice_is_a_translated_error(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    await _set_up(hass_with_core, backend)
    tts_entity = _tts(hass_with_core)

    with pytest.raises(HomeAssistantError, match="could not speak this text"):
        await tts_entity.async_get_tts_audio("Hello.", tts_entity.default_language, {"voice": "no-such-voice"})


async def test_speech_entities_when_the_backend_is_gone(
    hass_with_core: HomeAssistant, tmp_path: Path, socket_enabled: None
) -> None:
    hass = hass_with_core
    own = start_backend(tmp_path / "data", api_key=API_KEY, wait_until_loaded=True)
    try:
        await _set_up(hass, own)
    finally:
        own.stop()

    result = await _stt(hass).async_process_audio_stream(STT_METADATA, stream_pcm(b"\0" * 3200))
    assert result.result is stt.SpeechResultState.ERROR
    tts_entity = _tts(hass)
    assert await tts_entity.async_get_tts_audio("Hello.", tts_entity.default_language, {}) == (None, None)
    await hass.async_block_till_done()
    state = hass.states.get(TTS_ENTITY)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
