"""Memory benchmark: recall latency with 1k and 10k memories, document ingest throughput, and history write
latency on PostgreSQL vs SQLite, each against a real backend over HTTP.

Run: ``.venv/bin/python bench/memory_bench.py [--sizes 1000,10000]`` after ``scripts/setup``; prints a Markdown
report. Needs the PostgreSQL server binaries (Debian ``postgresql-15``); runs as root like ``scripts/test``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.backend.memory_backend import start_memory_backend
from tests.backend.postgres import create_database, postgres_server

ROOMS = ["kitchen", "bedroom", "garage", "attic", "office", "hallway", "garden", "bathroom", "cellar", "porch"]
THINGS = ["lamp", "heater", "window", "plant", "speaker", "blind", "fan", "clock", "shelf", "rug"]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _fact(index: int) -> str:
    room, thing = ROOMS[index % 10], THINGS[(index // 10) % 10]
    return f"Note {index}: the {thing} in the {room} was moved on day {index % 365} by person {index % 97}."


def _history_latency(client: httpx.Client, turns: int) -> tuple[float, float]:
    samples = []
    for index in range(turns):
        body = {
            "user_id": f"user-{index % 5}",
            "user_text": f"turn on the {THINGS[index % 10]} in the {ROOMS[index % 10]}",
            "assistant_text": "Done.",
            "device_id": f"sat-{index % 5}",
            "tool_calls": [{"name": "HassTurnOn", "arguments": {"name": THINGS[index % 10]}, "result": "ok"}],
            "timings": {"llm_ms": 420.0},
        }
        start = time.perf_counter()
        client.post(f"/history/conv-{index % 10}/turns", json=body).raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return _percentiles(samples)


def _add_memories(client: httpx.Client, start: int, stop: int) -> float:
    """Adds memories ``start``..``stop`` from two threads; returns memories per second."""

    def add(index: int) -> None:
        client.post("/memories", json={"user_id": "bench", "text": _fact(index)}).raise_for_status()

    began = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(add, range(start, stop)))
    return (stop - start) / (time.perf_counter() - began)


def _recall_latency(client: httpx.Client, queries: int) -> tuple[float, float]:
    samples = []
    for index in range(queries):
        query = f"where is the {THINGS[index % 10]} of the {ROOMS[(index * 3) % 10]}"
        start = time.perf_counter()
        client.post("/memories/search", json={"user_id": "bench", "query": query, "limit": 5}).raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return _percentiles(samples)


def _ingest_rate(client: httpx.Client) -> tuple[int, float]:
    sections = [
        f"# Section {s}\n\n" + "\n\n".join(" ".join(_fact(s * 100 + p * 10 + k) for k in range(6)) for p in range(8))
        for s in range(20)
    ]
    start = time.perf_counter()
    answer = client.post(
        "/documents", json={"title": "bench", "media_type": "text/markdown", "text": "\n\n".join(sections)}
    )
    answer.raise_for_status()
    chunks: int = answer.json()["chunks"]
    return chunks, chunks / (time.perf_counter() - start)


def main() -> None:
    """Runs every measurement and prints the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="memory counts at which recall is measured")
    parser.add_argument("--turns", type=int, default=300, help="history turns written per database")
    parser.add_argument("--queries", type=int, default=100, help="searches per memory count")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    lines = ["| measurement | p50 | p95 |", "|---|---|---|"]
    history: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder, postgres_server() as server:
        for kind in ("sqlite", "postgresql"):
            extra = ("--database-url", asyncio.run(create_database(server))) if kind == "postgresql" else ()
            backend = start_memory_backend(Path(folder) / kind, extra_args=extra)
            try:
                with httpx.Client(base_url=f"{backend.url}/v1/havencore", timeout=60) as client:
                    _history_latency(client, 20)  # warm-up
                    history[kind] = _history_latency(client, args.turns)
                    if kind == "sqlite":
                        chunks, rate = _ingest_rate(client)
                        added = 0
                        for size in sizes:
                            add_rate = _add_memories(client, added, size)
                            added = size
                            p50, p95 = _recall_latency(client, args.queries)
                            lines.append(f"| recall, {size} memories (ms) | {p50:.1f} | {p95:.1f} |")
                            lines.append(f"| add memory, up to {size} (memories/s) | {add_rate:.0f} | |")
            finally:
                backend.stop()
    for kind, (p50, p95) in history.items():
        lines.append(f"| history write, {kind} (ms) | {p50:.2f} | {p95:.2f} |")
    ratio = history["postgresql"][0] / history["sqlite"][0]
    lines.append(f"| history write p50, PostgreSQL / SQLite | {ratio:.2f} | |")
    lines.append(f"| document ingest ({chunks} chunks, chunks/s) | {rate:.1f} | |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
