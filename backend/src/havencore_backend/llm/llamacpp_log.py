"""llama.cpp's own log into Python logging, so that loading a model silences nothing else.

llama-cpp-python's ``verbose=False`` points the whole process's stdout and stderr at /dev/null while a model loads:
every other thread's log lines of those seconds are lost, and so is llama.cpp's reason when a GGUF cannot load. Its
``verbose=True`` prints llama.cpp's model dump instead. Routed here, llama.cpp's warnings and errors reach our log as
such and its chatter stays at debug level.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

_LOGGER = logging.getLogger("llama_cpp")
# ggml_log_level: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continues the previous message (llama-cpp-python's own
# table still has the old order). llama.cpp's info is its model dump: debug here.
_LEVELS = {3: logging.WARNING, 4: logging.ERROR}
_CONTINUE = 5


class _LineJoiner:
    """llama.cpp logs lines in pieces, from any thread: joins them, each line at its first piece's level."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text = ""
        self._level = logging.DEBUG

    def add(self, ggml_level: int, text: bytes | None) -> None:
        piece = (text or b"").decode(errors="replace")
        with self._lock:
            if ggml_level != _CONTINUE:
                self._emit()
                self._level = _LEVELS.get(ggml_level, logging.DEBUG)
            self._text += piece
            if self._text.endswith("\n"):
                self._emit()

    def _emit(self) -> None:
        _log_lines(self._level, self._text)
        self._text = ""


def _log_lines(level: int, text: str) -> None:
    """Each non-blank line of ``text`` as a log record of its own."""
    for line in text.splitlines():
        if line.strip():
            _LOGGER.log(level, "%s", line)


_callback: Any = None  # the C callback: llama.cpp holds only a pointer to it


def route_llama_cpp_log() -> None:
    """Sends llama.cpp's log (from now on, for the whole process) to the ``llama_cpp`` logger."""
    global _callback
    if _callback is not None:
        return
    import llama_cpp

    joiner = _LineJoiner()
    forward: Callable[[int, bytes | None, Any], None] = lambda level, text, _data: joiner.add(level, text)  # noqa: E731
    _callback = llama_cpp.llama_log_callback(forward)
    llama_cpp.llama_log_set(_callback, None)


@contextlib.contextmanager
def printed_to_debug_log() -> Iterator[None]:
    """llama-cpp-python's own prints to ``sys.stderr`` in this block (its verbose load report) go to the debug log.

    Unlike its ``verbose=False``, this swaps only Python's ``sys.stderr``: our log handlers keep their stream.
    """
    printed = io.StringIO()
    try:
        with contextlib.redirect_stderr(printed):
            yield
    finally:
        _log_lines(logging.DEBUG, printed.getvalue())
