"""Splits a text or markdown document into passages small enough to embed and to quote to the model."""

from __future__ import annotations

import re

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _pieces(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph cut at sentence ends (or, for run-on text, at spaces) into pieces of at most ``max_chars``."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            pieces.extend([current] if current else [])
            current = ""
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    return [*pieces, current] if current else pieces


def chunk_text(text: str, max_chars: int = 1000) -> list[str]:
    """Passages of whole paragraphs where they fit; a markdown heading starts a new passage and is repeated in
    front of each passage under it, so a passage read alone still says what it is about."""
    chunks: list[str] = []
    heading = ""
    current = ""
    for block in _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n")):
        paragraph = block.strip()
        if not paragraph:
            continue
        if match := _HEADING.match(paragraph.split("\n", 1)[0]):
            chunks.extend([current] if current else [])
            heading, current = match.group(1).strip(), ""
            paragraph = paragraph.split("\n", 1)[1].strip() if "\n" in paragraph else ""
            if not paragraph:
                continue
        prefix = f"{heading}: " if heading else ""
        for piece in _pieces(paragraph, max_chars - len(prefix)):
            if current and len(current) + 2 + len(piece) <= max_chars:
                current = f"{current}\n\n{piece}"
            else:
                chunks.extend([current] if current else [])
                current = prefix + piece
    return [*chunks, current] if current else chunks
