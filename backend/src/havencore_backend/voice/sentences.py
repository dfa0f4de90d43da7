"""Splits text at sentence boundaries, whole or as it streams in, so speech can start after the first sentence."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … (or a CJK form) with an optional closing quote or bracket, or at a line break.
_BOUNDARY = re.compile(
    r"(?<=[.!?…])\s+|(?<=[.!?…][\"'”’)\]])\s+"  # Latin: terminator, optional closing mark, whitespace
    r"|(?<=[。！？])(?![」』）])\s*|(?<=[。！？][」』）])\s*"  # CJK: no space needed
    r"|\n+"
)


def split_sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text``, stripped."""
    return [sentence.strip() for sentence in _BOUNDARY.split(text) if sentence.strip()]


class SentenceBuffer:
    """Collects streamed text and releases each sentence once the text after it shows that it has ended."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        """Adds text; returns the sentences it completed (the last, possibly unfinished one is kept)."""
        self._pending += text
        parts = _BOUNDARY.split(self._pending)
        self._pending = parts.pop()
        return [part.strip() for part in parts if part.strip()]

    def flush(self) -> list[str]:
        """Returns whatever is left as the final sentence(s)."""
        rest, self._pending = self._pending, ""
        return split_sentences(rest)
