"""Comparing what was said with what was heard, for tests in either venv."""

from __future__ import annotations

import re


def words(text: str | None) -> list[str]:
    """Lower-case words without punctuation; ``door's`` reads as ``door is``, a contraction Whisper may write."""
    normalized = re.sub(r"['’]s\b", " is", (text or "").lower())
    return re.sub(r"[^a-z0-9' ]", " ", normalized).split()


def word_errors(heard: list[str], expected: list[str]) -> int:
    """Word-level edit distance: substitutions, insertions and deletions that turn ``expected`` into ``heard``."""
    previous = list(range(len(heard) + 1))
    for row, want in enumerate(expected, start=1):
        current = [row]
        for column, got in enumerate(heard, start=1):
            current.append(min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + (want != got)))
        previous = current
    return previous[-1]


def assert_heard(text: str | None, expected: str | list[str], max_errors: int = 1) -> None:
    """Asserts speech-to-text heard ``expected``, allowing ``max_errors`` wrong words.

    Piper's synthesis varies from run to run and Whisper tiny.en mishears about one word in a few hundred of it
    ("garage" as "brush" after opus compression), so an exact match would make the round trips flaky.
    """
    heard = words(text)
    wanted = words(expected) if isinstance(expected, str) else expected
    errors = word_errors(heard, wanted)
    assert errors <= max_errors, f"heard {heard}, expected {wanted} ({errors} word errors)"
