"""Whether an agent's reply carries an internal error that no one should hear: a backend refusal, a context
overflow, an HTTP status or a traceback."""

from __future__ import annotations

# Lower case. HavenCore's translated failures name "the HavenCore backend" and count here too; before issue 17 an
# engine's message followed "Sorry, the HavenCore backend could not answer:".
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
