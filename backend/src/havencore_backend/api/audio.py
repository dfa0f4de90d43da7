"""OpenAI-compatible audio routes: ``/v1/audio/transcriptions``, ``/v1/audio/speech`` and ``/v1/audio/voices``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from numpy.typing import NDArray
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from havencore_backend.engines.stt import STT_SAMPLE_RATE, TranscriptionOptions
from havencore_backend.runtime import BackendRuntime
from havencore_backend.voice.audio import AudioFormatError, decode_audio
from havencore_backend.voice.encoding import CONTENT_TYPES, create_encoder
from havencore_backend.voice.loader import EngineUnavailableError
from havencore_backend.voice.speech_to_text import SpeechToText, Transcription
from havencore_backend.voice.text_to_speech import TextTooLongError, TextToSpeech, UnknownVoiceError

from .errors import APIError
from .subtitles import to_srt, to_vtt

router = APIRouter(tags=["audio"])

STT_MODEL_ALIASES = frozenset({"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"})
TTS_MODEL_ALIASES = frozenset({"tts-1", "tts-1-hd", "gpt-4o-mini-tts"})
TRANSCRIPT_FORMATS = ("json", "text", "verbose_json", "srt", "vtt")
TIMED_FORMATS = frozenset({"verbose_json", "srt", "vtt"})  # the formats that show segment times
_MULTIPART_OVERHEAD = 64 * 1024  # room for the form's other fields and boundaries


def _runtime(request: Request) -> BackendRuntime:
    runtime: BackendRuntime = request.app.state.runtime
    return runtime


def _stt(request: Request) -> SpeechToText:
    voice = _runtime(request).voice
    if voice is None or voice.stt is None:
        raise APIError(503, "speech-to-text is not configured on this backend", error_type="server_error")
    return voice.stt


def _tts(request: Request) -> TextToSpeech:
    voice = _runtime(request).voice
    if voice is None or voice.tts is None:
        raise APIError(503, "text-to-speech is not configured on this backend", error_type="server_error")
    return voice.tts


def _unavailable(err: EngineUnavailableError) -> APIError:
    return APIError(503, str(err), error_type="server_error", code="model_unavailable")


async def _read_upload(request: Request, limit: int) -> tuple[bytes, dict[str, str]]:
    """The uploaded ``file`` and the other form fields; refuses bodies over ``limit`` before reading them."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise APIError(413, f"upload exceeds the limit of {limit} bytes", code="file_too_large", param="file")
    try:
        form = await request.form()
    except Exception as err:  # Starlette raises several types for a malformed body
        raise APIError(400, f"expected a multipart/form-data body: {err}") from err
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise APIError(400, "the 'file' field with the audio is missing", param="file")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise APIError(413, f"upload exceeds the limit of {limit} bytes", code="file_too_large", param="file")
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    await form.close()
    return data, fields


async def _check_stt_model(service: SpeechToText, requested: str) -> None:
    engine = await service.engine()
    if requested and requested not in STT_MODEL_ALIASES | {engine.model_name}:
        raise APIError(
            400,
            f"unknown model {requested!r}; use whisper-1 or {engine.model_name!r}",
            code="model_not_found",
            param="model",
        )


def _transcription_response(result: Transcription, response_format: str) -> Response:
    if response_format == "text":
        return PlainTextResponse(result.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(to_srt(result.segments))
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(result.segments), media_type="text/vtt")
    if response_format == "verbose_json":
        return JSONResponse(
            {
                "task": "transcribe",
                "language": result.info.language,
                "duration": result.info.duration,
                "text": result.text,
                "segments": [
                    {
                        "id": index,
                        "seek": 0,
                        "start": segment.start,
                        "end": segment.end,
                        "text": segment.text,
                        "tokens": list(segment.tokens),
                        "temperature": segment.temperature,
                        "avg_logprob": segment.avg_logprob,
                        "compression_ratio": segment.compression_ratio,
                        "no_speech_prob": segment.no_speech_prob,
                    }
                    for index, segment in enumerate(result.segments)
                ],
            }
        )
    return JSONResponse({"text": result.text})


def _temperature(raw: str) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise APIError(400, f"temperature must be a number between 0 and 1, got {raw!r}", param="temperature")
    return value


# The form is read by hand (to refuse oversized uploads before spooling them), so its schema is declared here.
_TRANSCRIPTION_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "model": {"type": "string", "example": "whisper-1"},
                        "language": {"type": "string"},
                        "prompt": {"type": "string"},
                        "response_format": {"type": "string", "enum": list(TRANSCRIPT_FORMATS)},
                        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                }
            }
        },
    }
}


@router.post("/v1/audio/transcriptions", openapi_extra=_TRANSCRIPTION_FORM)
async def transcriptions(request: Request) -> Response:
    """Transcribes an uploaded file (wav, mp3, ogg/opus, flac, webm, m4a, ...), OpenAI's multipart form."""
    service = _stt(request)
    voice = _runtime(request).voice
    assert voice is not None
    data, fields = await _read_upload(request, voice.upload_limit_bytes)
    response_format = fields.get("response_format") or "json"
    if response_format not in TRANSCRIPT_FORMATS:
        raise APIError(400, f"response_format must be one of {', '.join(TRANSCRIPT_FORMATS)}", param="response_format")
    options = TranscriptionOptions(
        language=fields.get("language") or None,
        prompt=fields.get("prompt") or None,
        temperature=_temperature(fields.get("temperature", "")),
        timestamps=response_format in TIMED_FORMATS,
    )
    try:
        await _check_stt_model(service, fields.get("model", ""))
        audio = await asyncio.to_thread(decode_audio, data, STT_SAMPLE_RATE)
        result = await service.transcribe(audio, options)
    except AudioFormatError as err:
        raise APIError(400, str(err), code="invalid_audio", param="file") from err
    except EngineUnavailableError as err:
        raise _unavailable(err) from err
    return _transcription_response(result, response_format)


class SpeechRequest(BaseModel):
    """OpenAI's ``/v1/audio/speech`` body."""

    model: str = Field(min_length=1)
    input: str = Field(min_length=1)
    voice: str = Field(min_length=1)
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, Field(ge=0.25, le=4.0)] = 1.0
    instructions: str | None = None


async def _encoded(
    first: NDArray[np.int16], rest: AsyncIterator[NDArray[np.int16]], response_format: str, rate: int
) -> AsyncIterator[bytes]:
    encoder = create_encoder(response_format, rate)
    yield encoder.encode(first)
    async for samples in rest:
        if data := encoder.encode(samples):
            yield data
    yield encoder.finish()


@router.post("/v1/audio/speech")
async def speech(request: Request, body: SpeechRequest) -> Response:
    """Speaks ``input``; the audio is streamed (chunked) sentence by sentence as it is synthesized."""
    service = _tts(request)
    if body.response_format == "aac":
        raise APIError(
            400, "response_format aac is not supported; use mp3, opus, flac, wav or pcm", param="response_format"
        )
    try:
        engine = await service.engine()
        if body.model not in TTS_MODEL_ALIASES | {engine.engine, engine.model_name}:
            raise APIError(
                400,
                f"unknown model {body.model!r}; use tts-1, {engine.engine!r} or {engine.model_name!r}",
                code="model_not_found",
                param="model",
            )
        service.check_length(len(body.input))
        voice = await service.resolve_voice(body.voice)
        audio = service.stream_text(body.input, voice, body.speed * service.speed)
        # The first sentence is synthesized before the response starts, so a failure still gets an error status.
        first = await anext(audio, np.zeros(0, np.int16))
    except EngineUnavailableError as err:
        raise _unavailable(err) from err
    except TextTooLongError as err:
        raise APIError(400, str(err), code="string_above_max_length", param="input") from err
    except UnknownVoiceError as err:
        raise APIError(400, str(err), code="voice_not_found", param="voice") from err
    return StreamingResponse(
        _encoded(first, audio, body.response_format, engine.sample_rate),
        media_type=CONTENT_TYPES[body.response_format],
    )


class VoiceEntry(BaseModel):
    """One voice of the loaded text-to-speech model."""

    id: str
    name: str
    languages: list[str]
    engine: str


class VoicesResponse(BaseModel):
    """``GET /v1/audio/voices``: the voices and which voice each OpenAI voice name speaks with."""

    voices: list[VoiceEntry]
    default: str
    openai_voices: dict[str, str]


@router.get("/v1/audio/voices", response_model=VoicesResponse)
async def voices(request: Request) -> VoicesResponse:
    """The voices of the loaded model with their languages."""
    service = _tts(request)
    try:
        engine = await service.engine()
        return VoicesResponse(
            voices=[
                VoiceEntry(id=voice.name, name=voice.description, languages=list(voice.languages), engine=engine.engine)
                for voice in engine.voices
            ],
            default=await service.default_voice(),
            openai_voices=await service.openai_voice_map(),
        )
    except EngineUnavailableError as err:
        raise _unavailable(err) from err
