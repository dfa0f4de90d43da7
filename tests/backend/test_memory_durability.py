"""A backend killed with SIGKILL while writing: after a restart every turn is whole or absent, nothing acked is lost."""

from __future__ import annotations

import asyncio
import http.client
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.backend.memory_backend import start_memory_backend
from tests.backend.postgres import create_database
from tests.backend_process import RunningBackend, http_json

WRITERS = 4
KILL_AFTER = 60  # acknowledged turns before the kill; the writers keep going until the process is gone
MEMORIES_BEFORE_KILL = 5


def _turn(conversation: str, index: int) -> dict[str, Any]:
    text = f"{conversation} turn {index}"
    return {
        "user_id": conversation,  # one user per conversation: the check below also proves isolation
        "user_text": text,
        "assistant_text": f"reply to {text}",
        "tool_calls": [{"name": "note", "arguments": {"text": text}, "result": index}],
        "trace_id": text,
    }


class _Writers:
    """Threads that each append turns to their own conversation (and one that adds memories) until refused."""

    def __init__(self, backend: RunningBackend) -> None:
        self.backend = backend
        self.acked: dict[str, int] = {f"conv-{k}": 0 for k in range(WRITERS)}
        self.memories: list[str] = []
        self.enough = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._write_turns, args=(c,)) for c in self.acked]
        self.threads.append(threading.Thread(target=self._write_memories))

    def _post(self, path: str, body: Any) -> Any | None:
        try:
            status, answer = http_json("POST", f"{self.backend.url}/v1/havencore{path}", "", body)
        except (OSError, http.client.HTTPException):
            return None  # the backend is gone
        assert status == 200, answer
        return answer

    def _write_turns(self, conversation: str) -> None:
        index = 0
        while self._post(f"/history/{conversation}/turns", _turn(conversation, index)) is not None:
            index += 1
            with self._lock:
                self.acked[conversation] = index
                self._check_enough()

    def _check_enough(self) -> None:
        if sum(self.acked.values()) >= KILL_AFTER and len(self.memories) >= MEMORIES_BEFORE_KILL:
            self.enough.set()

    def _write_memories(self) -> None:
        index = 0
        while (answer := self._post("/memories", {"user_id": "mem", "text": f"fact number {index}"})) is not None:
            index += 1
            with self._lock:
                self.memories.append(answer["id"])
                self._check_enough()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_sigkill_during_writes_leaves_whole_turns_and_keeps_every_acknowledged_one(
    database: str, data_dir: Path, postgres_url: str
) -> None:
    args = ("--database-url", asyncio.run(create_database(postgres_url))) if database == "postgresql" else ()
    first = start_memory_backend(data_dir, extra_args=args)
    writers = _Writers(first)
    for thread in writers.threads:
        thread.start()
    assert writers.enough.wait(timeout=120), first.log()
    first.process.kill()  # SIGKILL: no shutdown code runs
    first.process.wait()
    for thread in writers.threads:
        thread.join()

    second = start_memory_backend(data_dir, extra_args=args)
    try:
        for conversation, acked in writers.acked.items():
            status, stored = http_json("GET", f"{second.url}/v1/havencore/history/{conversation}")
            assert status == 200, stored
            turns = stored["turns"]
            # Every acknowledged turn is there; at most the one in flight at the kill was also committed.
            assert acked <= len(turns) <= acked + 1
            assert stored["turn_count"] == len(turns)
            assert stored["user_id"] == conversation
            for index, turn in enumerate(turns):
                expected = _turn(conversation, index)
                assert turn["seq"] == index + 1
                assert {key: turn[key] for key in ("user_text", "assistant_text", "tool_calls", "trace_id")} == {
                    key: expected[key] for key in ("user_text", "assistant_text", "tool_calls", "trace_id")
                }
        status, listed = http_json("GET", f"{second.url}/v1/havencore/memories?user_id=mem&limit=500")
        assert status == 200
        assert set(writers.memories) <= {memory["id"] for memory in listed["data"]}
        assert len(listed["data"]) <= len(writers.memories) + 1
    finally:
        second.stop()
