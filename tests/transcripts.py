"""Comparing what was said with what was heard, for tests in either venv."""

from __future__ import annotations

import re


def words(text: str | None) -> list[str]:
    """Lower-case words without punctuation; ``door's`` reads as ``door is``, a contraction Whisper may write."""
    normalized = re.sub(r"['’]s\b", " is", (text or "").lower())
    return re.sub(r"[^a-z0-9' ]", " ", normalized).split()
