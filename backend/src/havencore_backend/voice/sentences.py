"""Splits text at sentence boundaries, whole or as it streams in, so speech can start after the first sentence.

The first sentence is also cut after its first clause when that clause is long enough to say on its own: the
listener hears the first words after the time it takes to synthesize a few words, not a whole sentence.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? … (or a CJK form) with an optional closing quote or bracket, or at a line break.
_BOUNDARY = re.compile(
    r"(?<=[.!?…])\s+|(?<=[.!?…][\"'”’)\]])\s+"  # Latin: terminator, optional closing mark, whitespace
    r"|(?<=[。！？])(?![」』）])\s*|(?<=[。！？][」』）])\s*"  # CJK: no space needed
    r"|\n+"
)
_CLAUSE = re.compile(r"(?<=[,;:])\s+")
MIN_CLAUSE_WORDS = 2  # a shorter first clause ("Yes,") would sound clipped
MIN_REST_WORDS = 3  # a shorter rest is not worth a second synthesis call


def _first_clause_split(sentence: str) -> list[str]:
    """``["Good morning,", "the coffee is ready."]`` for ``"Good morning, the coffee is ready."``."""
    for match in _CLAUSE.finditer(sentence):
        head, rest = sentence[: match.start()], sentence[match.end() :]
        if len(head.split()) >= MIN_CLAUSE_WORDS:
            return [head, rest] if len(rest.split()) >= MIN_REST_WORDS else [sentence]
    return [sentence]


def split_sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text``, stripped."""
    return [sentence.strip() for sentence in _BOUNDARY.split(text) if sentence.strip()]


def speech_pieces(text: str) -> list[str]:
    """The sentences of ``text``, the first one cut after its first clause: the order to synthesize them in."""
    sentences = split_sentences(text)
    return [*_first_clause_split(sentences[0]), *sentences[1:]] if sentences else []


class SentenceBuffer:
    """Collects streamed text and releases each piece of speech once the text after it shows that it has ended:
    the first clause as soon as its comma is followed by more text, then whole sentences."""

    def __init__(self) -> None:
        self._pending = ""
        self._first = True

    def feed(self, text: str) -> list[str]:
        """Adds text; returns the pieces it completed (the last, possibly unfinished one is kept)."""
        self._pending += text
        parts = _BOUNDARY.split(self._pending)
        self._pending = parts.pop()
        complete = [part.strip() for part in parts if part.strip()]
        if self._first:
            complete = self._take_first_clause(complete)
        return complete

    def _take_first_clause(self, complete: list[str]) -> list[str]:
        if complete:
            self._first = False
            return [*_first_clause_split(complete[0]), *complete[1:]]
        # No sentence has ended yet: release the first clause once enough words follow its comma.
        pieces = _first_clause_split(self._pending.strip())
        if len(pieces) == 2 and self._pending[-1:].isspace():
            self._first = False
            self._pending = pieces[1] + " "
            return [pieces[0]]
        return []

    def flush(self) -> list[str]:
        """Returns whatever is left as the final piece(s)."""
        rest, self._pending = self._pending, ""
        return speech_pieces(rest) if self._first else split_sentences(rest)
