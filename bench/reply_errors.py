"""Whether an agent's reply carries an internal error that no one should hear: a backend refusal, a context
overflow, an HTTP status or a traceback."""

from __future__ import annotations

# Lower case; HavenCore's backend error reads "Sorry, the HavenCore backend could not answer: <message>".
INTERNAL_ERROR_MARKS = (
    "could not answer",
    "context length",
    "context_length",
    "maximum context",
    "http",
    "traceback",
    "exception",
    "status code",
    "backend",
)


def internal_error(reply: str) -> str | None:
    """The first internal-error mark in the reply, or None when it has none."""
    text = reply.lower()
    return next((mark for mark in INTERNAL_ERROR_MARKS if mark in text), None)
