"""The text of an uploaded document: plain text, markdown or PDF (pypdf, pure Python)."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import PdfReadError

MEDIA_TYPES = ("text/plain", "text/markdown", "application/pdf")


class UnreadableDocumentError(ValueError):
    """The content is not valid for its media type."""


def document_text(media_type: str, content: bytes) -> str:
    """The document's text (blocking for PDFs); raises ``UnreadableDocumentError``."""
    if media_type == "application/pdf":
        try:
            reader = PdfReader(io.BytesIO(content))
            return "\n\n".join(page.extract_text() or "" for page in reader.pages)
        except (PdfReadError, ValueError, KeyError) as err:
            raise UnreadableDocumentError(f"not a readable PDF: {err}") from err
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UnreadableDocumentError("text documents must be UTF-8") from err
