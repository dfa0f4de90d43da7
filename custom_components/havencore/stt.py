"""The HavenCore speech-to-text entity: streams HA's audio to the backend's Wyoming ASR server as it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterable

from homeassistant.components import stt
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error

from .const import CONF_LANGUAGE, CONF_MODEL, LOGGER, SUBENTRY_STT
from .entity import HavenCoreEntity
from .runtime import HavenCoreConfigEntry

PARALLEL_UPDATES = 0
SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2
SAMPLE_CHANNELS = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: HavenCoreConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """One speech-to-text entity per STT subentry, when the backend has a speech-to-text server."""
    if entry.runtime_data.stt_info is None:
        return
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_STT:
            async_add_entities([HavenCoreSTTEntity(entry, subentry)], config_subentry_id=subentry.subentry_id)


def backend_stt_languages(entry: HavenCoreConfigEntry, model: str | None = None) -> list[str]:
    """Languages of the backend's installed speech-to-text models (of one model when named)."""
    info = entry.runtime_data.stt_info
    languages: set[str] = set()
    for program in info.asr if info else ():
        for asr_model in program.models:
            if asr_model.installed and (not model or asr_model.name == model):
                languages.update(asr_model.languages)
    return sorted(languages)


class HavenCoreSTTEntity(HavenCoreEntity, stt.SpeechToTextEntity):
    """Transcribes with the backend's Whisper over Wyoming."""

    def __init__(self, entry: HavenCoreConfigEntry, subentry: ConfigSubentry) -> None:
        super().__init__(entry, subentry)
        offered = backend_stt_languages(entry, subentry.data.get(CONF_MODEL))
        chosen = [language for language in subentry.data.get(CONF_LANGUAGE) or () if language in offered]
        self._languages = chosen or offered

    @property
    def supported_languages(self) -> list[str]:
        """The subentry's languages, or every language the backend's model offers."""
        return self._languages

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        """Raw PCM in a WAV stream, as Assist sends it."""
        return [stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        """PCM only."""
        return [stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        """16-bit samples."""
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        """16 kHz, what Whisper uses."""
        return [stt.AudioSampleRates.SAMPLERATE_16000]

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        """Mono."""
        return [stt.AudioChannels.CHANNEL_MONO]

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """Sends each audio chunk as it arrives, then waits for the transcript."""
        runtime = self.entry.runtime_data
        model = self.subentry.data.get(CONF_MODEL) or None
        try:
            async with AsyncTcpClient(runtime.client.host, runtime.info.wyoming_stt_port) as client:
                await client.write_event(Transcribe(name=model, language=metadata.language).event())
                audio = {"rate": SAMPLE_RATE, "width": SAMPLE_WIDTH, "channels": SAMPLE_CHANNELS}
                await client.write_event(AudioStart(**audio).event())
                async for chunk in stream:
                    await client.write_event(AudioChunk(audio=chunk, **audio).event())
                await client.write_event(AudioStop().event())
                while (event := await client.read_event()) is not None:
                    if Transcript.is_type(event.type):
                        runtime.availability.async_mark_ok()
                        return stt.SpeechResult(Transcript.from_event(event).text, stt.SpeechResultState.SUCCESS)
                    if Error.is_type(event.type):
                        LOGGER.warning("The backend could not transcribe: %s", Error.from_event(event).text)
                        return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        except OSError as err:
            runtime.availability.async_mark_lost(err)
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        runtime.availability.async_mark_lost(ConnectionError("speech-to-text connection closed early"))
        return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
