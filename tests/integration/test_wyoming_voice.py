"""Home Assistant's own ``wyoming`` integration against the backend's Wyoming ports: discovery, STT and TTS."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncGenerator

from homeassistant.components import stt, tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.components.tts.helper import get_engine_instance
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.backend_process import RunningBackend
from tests.integration.audio import STT_METADATA, as_16_khz_pcm, stream_pcm
from tests.transcripts import assert_heard
from tests.wav import pcm_to_wav


async def _wyoming_entities(hass: HomeAssistant, backend: RunningBackend) -> tuple[tts.TextToSpeechEntity, str]:
    """Adds HA's Wyoming integration for both ports, as a user would; returns the TTS entity and the STT id."""
    assert await async_setup_component(hass, "ffmpeg", {})
    for port in (backend.stt_port, backend.tts_port):
        entry = MockConfigEntry(domain="wyoming", data={CONF_HOST: "127.0.0.1", CONF_PORT: port})
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    stt_ids = hass.states.async_entity_ids("stt")
    tts_ids = hass.states.async_entity_ids("tts")
    assert len(stt_ids) == 1
    assert len(tts_ids) == 1
    engine = get_engine_instance(hass, tts_ids[0])
    assert isinstance(engine, tts.TextToSpeechEntity)
    return engine, stt_ids[0]


async def test_home_assistant_discovers_transcribes_and_speaks(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    tts_entity, stt_id = await _wyoming_entities(hass_with_core, backend)
    stt_entity = stt.async_get_speech_to_text_entity(hass_with_core, stt_id)
    assert stt_entity is not None
    assert "en" in stt_entity.supported_languages
    assert "en-US" in tts_entity.supported_languages
    assert tts_entity.async_supports_streaming_input()

    extension, wav_bytes = await tts_entity.async_get_tts_audio("The garage door is open.", "en-US", {})
    assert extension == "wav"
    assert wav_bytes
    result = await stt_entity.async_process_audio_stream(STT_METADATA, stream_pcm(as_16_khz_pcm(wav_bytes)))
    assert result.result is stt.SpeechResultState.SUCCESS
    assert_heard(result.text, ["the", "garage", "door", "is", "open"])


async def test_home_assistant_streams_text_into_speech(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    tts_entity, stt_id = await _wyoming_entities(hass_with_core, backend)

    async def message() -> AsyncGenerator[str]:
        for part in ("Good morn", "ing. The coffee ", "is ready. Have a nice day."):
            yield part

    response = await tts_entity.async_stream_tts_audio(TTSAudioRequest("en-US", {}, message()))
    assert response.extension == "wav"
    wav_bytes = b"".join([chunk async for chunk in response.data_gen])
    # The streamed header has no length: rewrite it so the wave module reads every frame.
    header, pcm = wav_bytes[:44], wav_bytes[44:]
    with wave.open(io.BytesIO(header)) as reader:
        rate = reader.getframerate()
    stt_entity = stt.async_get_speech_to_text_entity(hass_with_core, stt_id)
    assert stt_entity is not None
    result = await stt_entity.async_process_audio_stream(STT_METADATA, stream_pcm(as_16_khz_pcm(pcm_to_wav(pcm, rate))))
    assert_heard(result.text, ["good", "morning", "the", "coffee", "is", "ready", "have", "a", "nice", "day"])
