"""The HavenCore text-to-speech entity: the backend's voices over Wyoming, streaming text in as the LLM writes it."""

from __future__ import annotations

import io
import wave
from collections import defaultdict
from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice

from .const import CONF_SPEED, CONF_VOICE, DEFAULT_SPEED, DOMAIN, LOGGER, SUBENTRY_TTS
from .entity import HavenCoreEntity
from .runtime import HavenCoreConfigEntry

PARALLEL_UPDATES = 0
ATTR_SPEED = "speed"


async def async_setup_entry(
    hass: HomeAssistant, entry: HavenCoreConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """One text-to-speech entity per TTS subentry, when the backend has a text-to-speech server."""
    if entry.runtime_data.tts_info is None:
        return
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_TTS:
            async_add_entities([HavenCoreTTSEntity(entry, subentry)], config_subentry_id=subentry.subentry_id)


def backend_voices(entry: HavenCoreConfigEntry) -> dict[str, list[tts.Voice]]:
    """The backend's installed voices by language, sorted by name."""
    voices: dict[str, list[tts.Voice]] = defaultdict(list)
    info = entry.runtime_data.tts_info
    for program in info.tts if info else ():
        for voice in program.voices:
            if voice.installed:
                for language in voice.languages:
                    voices[language].append(tts.Voice(voice_id=voice.name, name=voice.description or voice.name))
    return {language: sorted(found, key=lambda voice: voice.name) for language, found in voices.items()}


def _with_speed(event: Event, speed: float) -> Event:
    """Adds HavenCore's speaking-rate extension to a synthesize event; other Wyoming servers ignore it."""
    if speed == DEFAULT_SPEED:
        return event
    return Event(type=event.type, data={**(event.data or {}), ATTR_SPEED: speed}, payload=event.payload)


def _wav_header(start: AudioStart) -> bytes:
    """A WAV header with no frame count, for audio whose length is not known yet."""
    with io.BytesIO() as buffer:
        with wave.open(buffer, "wb") as wav_file:
            wav_file.setframerate(start.rate)
            wav_file.setsampwidth(start.width)
            wav_file.setnchannels(start.channels)
        return buffer.getvalue()


class HavenCoreTTSEntity(HavenCoreEntity, tts.TextToSpeechEntity):
    """Speaks with the backend's Kokoro or Piper voices."""

    def __init__(self, entry: HavenCoreConfigEntry, subentry: ConfigSubentry) -> None:
        super().__init__(entry, subentry)
        # HA's TTS media source refuses an engine without a name, so this entity names itself after its subentry.
        self._attr_has_entity_name = False
        self._attr_name = subentry.title
        self._attr_supported_options = [tts.ATTR_VOICE, ATTR_SPEED]
        self._voices = backend_voices(entry)
        self._attr_supported_languages = sorted(self._voices)
        chosen_voice = subentry.data.get(CONF_VOICE)
        self._attr_default_language = next(
            (lang for lang, voices in self._voices.items() if any(v.voice_id == chosen_voice for v in voices)),
            self._attr_supported_languages[0] if self._attr_supported_languages else "en",
        )
        self._attr_default_options = {ATTR_SPEED: float(subentry.data.get(CONF_SPEED, DEFAULT_SPEED))}
        if chosen_voice:
            self._attr_default_options[tts.ATTR_VOICE] = chosen_voice

    @callback
    def async_get_supported_voices(self, language: str) -> list[tts.Voice] | None:
        """The backend's voices for a language."""
        return self._voices.get(language)

    def _voice(self, options: dict[str, Any]) -> SynthesizeVoice | None:
        name = options.get(tts.ATTR_VOICE)
        return SynthesizeVoice(name=name) if name else None

    @staticmethod
    def _speed(options: dict[str, Any]) -> float:
        return float(options.get(ATTR_SPEED, DEFAULT_SPEED))

    async def async_get_tts_audio(self, message: str, language: str, options: dict[str, Any]) -> tts.TtsAudioType:
        """Synthesizes a whole message into one WAV."""
        runtime = self.entry.runtime_data
        pcm = bytearray()
        start: AudioStart | None = None
        try:
            async with AsyncTcpClient(runtime.client.host, runtime.info.wyoming_tts_port) as client:
                event = Synthesize(text=message, voice=self._voice(options)).event()
                await client.write_event(_with_speed(event, self._speed(options)))
                while (event := await client.read_event()) is not None:
                    if AudioStart.is_type(event.type):
                        start = AudioStart.from_event(event)
                    elif AudioChunk.is_type(event.type):
                        pcm += AudioChunk.from_event(event).audio
                    elif AudioStop.is_type(event.type):
                        break
                    elif Error.is_type(event.type):
                        LOGGER.warning("The HavenCore backend could not speak a text: %s", Error.from_event(event).text)
                        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="tts_failed")
        except OSError as err:
            runtime.availability.async_mark_lost(err)
            return None, None
        if start is None:
            return None, None
        runtime.availability.async_mark_ok()
        with io.BytesIO() as buffer:
            with wave.open(buffer, "wb") as wav_file:
                wav_file.setframerate(start.rate)
                wav_file.setsampwidth(start.width)
                wav_file.setnchannels(start.channels)
                wav_file.writeframes(bytes(pcm))
            return "wav", buffer.getvalue()

    def async_supports_streaming_input(self) -> bool:
        """True when the backend's server synthesizes text while it still arrives."""
        info = self.entry.runtime_data.tts_info
        return bool(info and info.tts and info.tts[0].supports_synthesize_streaming)

    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> tts.TTSAudioResponse:
        """Sends text chunks as the LLM produces them and yields WAV audio as the backend returns it."""
        runtime = self.entry.runtime_data
        client = AsyncTcpClient(runtime.client.host, runtime.info.wyoming_tts_port)
        try:
            await client.connect()
        except OSError as err:
            raise runtime.availability.async_unreachable(err) from err
        voice = self._voice(request.options)
        speed = self._speed(request.options)

        async def write_text() -> None:
            try:
                await client.write_event(_with_speed(SynthesizeStart(voice=voice).event(), speed))
                async for text in request.message_gen:
                    await client.write_event(SynthesizeChunk(text=text).event())
                await client.write_event(SynthesizeStop().event())
            except OSError as err:
                LOGGER.warning("Lost the text-to-speech connection while sending text: %s", err)

        self.entry.async_create_background_task(self.hass, write_text(), "havencore tts text")

        async def read_audio() -> AsyncGenerator[bytes]:
            header_sent = False
            try:
                while (event := await client.read_event()) is not None:
                    if AudioStart.is_type(event.type) and not header_sent:
                        header_sent = True
                        yield _wav_header(AudioStart.from_event(event))
                    elif AudioChunk.is_type(event.type) and header_sent:
                        yield AudioChunk.from_event(event).audio
                    elif SynthesizeStopped.is_type(event.type):
                        runtime.availability.async_mark_ok()
                        return
                    elif Error.is_type(event.type):
                        LOGGER.warning("The backend could not speak: %s", Error.from_event(event).text)
                        return
            except OSError as err:
                runtime.availability.async_mark_lost(err)
            finally:
                await client.disconnect()

        return tts.TTSAudioResponse("wav", read_audio())
