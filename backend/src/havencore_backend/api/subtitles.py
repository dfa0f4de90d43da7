"""SubRip and WebVTT renderings of transcript segments, as OpenAI's ``srt`` and ``vtt`` response formats."""

from __future__ import annotations

from collections.abc import Sequence

from havencore_backend.engines.stt import TranscriptSegment


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(segments: Sequence[TranscriptSegment]) -> str:
    """``1\\n00:00:00,000 --> 00:00:01,500\\nText\\n\\n`` per segment."""
    return "".join(
        f"{index}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{s.text.strip()}\n\n"
        for index, s in enumerate(segments, start=1)
    )


def to_vtt(segments: Sequence[TranscriptSegment]) -> str:
    """``WEBVTT`` then ``00:00:00.000 --> 00:00:01.500\\nText\\n\\n`` per segment."""
    cues = "".join(f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text.strip()}\n\n" for s in segments)
    return f"WEBVTT\n\n{cues}"
