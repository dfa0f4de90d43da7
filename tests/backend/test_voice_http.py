"""OpenAI-compatible audio routes, driven by the official ``openai`` SDK against the backend process."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Literal

import av
import httpx
import numpy as np
import openai
import pytest
from openai import OpenAI

from tests.backend.conftest import API_KEY
from tests.backend_process import RunningBackend, http_get
from tests.transcripts import assert_heard, words
from tests.wav import pcm_to_wav

SENTENCE = "Please close the garage door."


@pytest.fixture(scope="module")
def client(voice_backend: RunningBackend) -> Iterator[OpenAI]:
    """An OpenAI SDK client pointed at the backend."""
    with OpenAI(base_url=f"{voice_backend.url}/v1", api_key=API_KEY, max_retries=0, timeout=120) as sdk:
        yield sdk


def _reencode(wav: bytes, container_format: str, codec: str) -> bytes:
    """The same speech in another container and codec, as a browser or phone would upload it."""
    with av.open(io.BytesIO(wav), mode="r") as source:
        samples = np.concatenate([frame.to_ndarray()[0] for frame in source.decode(audio=0)])
        rate = source.streams.audio[0].rate
    out = io.BytesIO()
    with av.open(out, mode="w", format=container_format) as target:
        stream = target.add_stream(codec, rate=48000 if codec == "libopus" else rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            target.mux(packet)
    return out.getvalue()


SpeechFormat = Literal["wav", "mp3", "opus", "flac"]


@pytest.mark.parametrize("response_format", ["wav", "mp3", "opus", "flac"])
def test_speech_then_transcription_gives_back_the_words(client: OpenAI, response_format: SpeechFormat) -> None:
    speech = client.audio.speech.create(
        model="tts-1", voice="alloy", input=SENTENCE, response_format=response_format
    ).read()
    result = client.audio.transcriptions.create(model="whisper-1", file=(f"speech.{response_format}", speech))
    assert_heard(result.text, SENTENCE)


def test_pcm_is_24_khz_16_bit_mono(client: OpenAI) -> None:
    pcm = client.audio.speech.create(model="tts-1", voice="alloy", input=SENTENCE, response_format="pcm").read()
    result = client.audio.transcriptions.create(model="whisper-1", file=("speech.wav", pcm_to_wav(pcm, 24000)))
    assert_heard(result.text, SENTENCE)


@pytest.mark.parametrize(("container_format", "codec", "suffix"), [("webm", "libopus", "webm"), ("mp4", "aac", "m4a")])
def test_browser_and_phone_uploads_are_decoded(client: OpenAI, container_format: str, codec: str, suffix: str) -> None:
    wav = client.audio.speech.create(model="tts-1", voice="alloy", input=SENTENCE, response_format="wav").read()
    upload = _reencode(wav, container_format, codec)
    result = client.audio.transcriptions.create(model="whisper-1", file=(f"speech.{suffix}", upload))
    assert_heard(result.text, SENTENCE)


def test_transcription_formats(client: OpenAI) -> None:
    wav = client.audio.speech.create(
        model="tts-1", voice="nova", input="Good morning. The coffee is ready.", response_format="wav"
    ).read()
    verbose = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", wav), response_format="verbose_json", language="en", temperature=0.0
    )
    assert verbose.language == "en"
    assert verbose.duration > 1.0
    assert verbose.segments
    assert verbose.segments[0].start == 0.0
    assert verbose.segments[0].start < verbose.segments[-1].end <= verbose.duration + 0.5
    assert_heard(verbose.text, ["good", "morning", "the", "coffee", "is", "ready"])

    text = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav), response_format="text")
    assert words(str(text)) == words(verbose.text)
    srt = str(client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav), response_format="srt"))
    assert srt.startswith("1\n00:00:00,000 --> 00:00:0")  # the end time lies within the ~3 s of audio
    vtt = str(client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav), response_format="vtt"))
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:0")


def test_speech_is_streamed_chunked(voice_backend: RunningBackend) -> None:
    body = {"model": "tts-1", "voice": "alloy", "response_format": "wav", "input": "One. Two. Three."}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.stream("POST", f"{voice_backend.url}/v1/audio/speech", json=body, headers=headers, timeout=60) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "audio/wav"
        assert reply.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in reply.headers
        chunks = [chunk for chunk in reply.iter_raw() if chunk]
    assert b"".join(chunks).startswith(b"RIFF")
    assert len(chunks) >= 3  # the header with the first sentence, then one block per further sentence


def test_voices_come_from_the_loaded_model(voice_backend: RunningBackend) -> None:
    status, body = http_get(f"{voice_backend.url}/v1/audio/voices", API_KEY)
    assert status == 200
    assert body["voices"] == [
        {"id": "en_US-joe-medium", "name": "Piper en_US-joe-medium", "languages": ["en-US"], "engine": "piper"}
    ]
    assert body["default"] == "en_US-joe-medium"
    assert body["openai_voices"]["nova"] == "en_US-joe-medium"
    assert set(body["openai_voices"]) >= {"alloy", "echo", "fable", "onyx", "nova", "shimmer"}


def _error(call: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, str]:
    error: dict[str, str] = call.value.response.json()["error"]
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"", "empty"),
        (b"this is not audio at all" * 20, "could not be decoded"),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", "could not be decoded"),
    ],
)
def test_bad_uploads_get_a_400(client: OpenAI, upload: bytes, message: str) -> None:
    with pytest.raises(openai.BadRequestError) as call:
        client.audio.transcriptions.create(model="whisper-1", file=("bad.wav", upload))
    error = _error(call)
    assert message in error["message"]
    assert error["param"] == "file"


def test_upload_over_the_limit_gets_a_413(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as call:
        client.audio.transcriptions.create(model="whisper-1", file=("big.wav", b"\0" * (2 * 1024 * 1024)))
    assert call.value.status_code == 413
    assert _error(call)["code"] == "file_too_large"


def test_unknown_models_voices_and_formats_are_named(client: OpenAI) -> None:
    wav = client.audio.speech.create(model="piper", voice="en_US-joe-medium", input="Hi.", response_format="wav").read()
    with pytest.raises(openai.BadRequestError) as call:
        client.audio.transcriptions.create(model="whisper-9", file=("a.wav", wav))
    assert _error(call)["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as call:
        client.audio.speech.create(model="tts-9", voice="alloy", input="Hi.")
    assert _error(call)["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as call:
        client.audio.speech.create(model="tts-1", voice="nobody", input="Hi.")
    assert _error(call)["code"] == "voice_not_found"
    with pytest.raises(openai.BadRequestError) as call:
        client.audio.speech.create(model="tts-1", voice="alloy", input="x" * 601)
    assert _error(call)["code"] == "string_above_max_length"
    unknown_format = {"response_format": "doc"}
    with pytest.raises(openai.BadRequestError) as call:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav), extra_body=unknown_format)
    assert _error(call)["param"] == "response_format"


def test_missing_file_and_json_body_get_a_400(voice_backend: RunningBackend) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    reply = httpx.post(f"{voice_backend.url}/v1/audio/transcriptions", data={"model": "whisper-1"}, headers=headers)
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "file"
    reply = httpx.post(f"{voice_backend.url}/v1/audio/transcriptions", json={"file": "x"}, headers=headers)
    assert reply.status_code == 400


def test_audio_routes_need_the_key(voice_backend: RunningBackend) -> None:
    assert http_get(f"{voice_backend.url}/v1/audio/voices")[0] == 401
    reply = httpx.post(f"{voice_backend.url}/v1/audio/speech", json={"model": "tts-1", "voice": "a", "input": "x"})
    assert reply.status_code == 401


def test_speech_longer_than_the_short_context_is_transcribed_whole(client: OpenAI) -> None:
    text = (
        "Good morning. The coffee is ready. The garage door is open and the kitchen light is on. "
        "It is sunny outside, and the temperature is mild. Remember to water the plants in the garden this evening."
    )
    wav = client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="wav").read()
    verbose = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav), response_format="verbose_json")
    assert verbose.duration > 10.0  # beyond the 10 s that short commands are encoded with
    assert verbose.segments
    assert verbose.segments[-1].end > 9.0
    heard = words(verbose.text)
    assert heard[:6] == ["good", "morning", "the", "coffee", "is", "ready"]
    assert heard[-4:] == ["in", "the", "garden", "evening"] or heard[-5:] == ["in", "the", "garden", "this", "evening"]
