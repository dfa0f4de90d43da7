"""LLM benchmark: the backend's llama.cpp engine vs llama.cpp's own OpenAI server on the same GGUF, in one run.

Measures time to first token and decode tokens/s through both (requests alternate, so drift hits both alike), and
the backend's time to first token with a long system prompt already cached vs a cold one.
Run: ``.venv/bin/python bench/llm_bench.py [--rounds N]`` after ``scripts/setup``; prints a Markdown report.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.backend_process import free_port, start_backend

MODELS = Path(os.environ.get("HAVENCORE_MODELS", Path.home() / ".cache" / "havencore" / "models"))
MODEL_ID = "qwen2.5-coder-0.5b-instruct-q4_k_m"
GGUF = MODELS / MODEL_ID / "model.gguf"
CONTEXT = "4096"
QUESTIONS = [
    "Explain in a few sentences why the sky is blue.",
    "Describe how a thermostat keeps a room warm.",
    "What does a smart plug do? Answer briefly.",
    "Give three tips for saving energy at home.",
    "How does a motion sensor turn on a light?",
    "Why do houseplants need light?",
]
LONG_SYSTEM = "You are HavenCore, a home assistant. " + " ".join(
    f"Device {i}: light.room_{i} is a dimmable lamp in room {i}; it supports brightness and colour." for i in range(40)
)


@dataclass
class Sample:
    """One streamed answer: seconds to the first content token, and decode speed after it."""

    ttft: float
    tokens_per_s: float


def stream(url: str, model: str, messages: list[dict[str, str]], max_tokens: int = 64) -> Sample:
    """Streams one chat completion and times it (one content chunk per token on both servers)."""
    body = {"model": model, "messages": messages, "stream": True, "temperature": 0, "max_tokens": max_tokens}
    start = time.perf_counter()
    first = last = 0.0
    tokens = 0
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=300) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            choices = json.loads(line[5:]).get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                last = time.perf_counter()
                first = first or last
                tokens += 1
    decode = (tokens - 1) / (last - first) if tokens > 1 and last > first else 0.0
    return Sample(ttft=first - start, tokens_per_s=decode)


def start_llama_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """llama.cpp's own server on the same model and context, waited for."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF), "--model_alias", MODEL_ID,
         "--n_ctx", CONTEXT, "--host", "127.0.0.1", "--port", str(port), "--interrupt_requests", "False"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/v1/models").status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(log.read_text())


def median(values: list[float]) -> float:
    """The median, robust to the odd slow request on a shared machine."""
    return statistics.median(values)


def main() -> None:
    """Runs both servers, alternates requests, prints the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="passes over the question list")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="havencore-bench-"))
    backend = start_backend(
        work / "backend",
        extra_args=("--llm-model", str(GGUF), "--llm-served-name", MODEL_ID, "--llm-context-length", CONTEXT),
    )
    peer, peer_url = start_llama_server(work / "llama_server.log")
    try:
        for _ in range(120):
            if httpx.get(f"{backend.url}/health").json()["components"]["llm"]["status"] == "ok":
                break
            time.sleep(0.5)
        ours: list[Sample] = []
        theirs: list[Sample] = []
        system = {"role": "system", "content": "You are a helpful assistant."}
        for url in (backend.url, peer_url):  # warm-up: first-request costs are not what we compare
            stream(url, MODEL_ID, [system, {"role": "user", "content": "Hello"}], max_tokens=8)
        for _ in range(args.rounds):
            for question in QUESTIONS:
                messages = [system, {"role": "user", "content": question}]
                ours.append(stream(backend.url, MODEL_ID, messages))
                theirs.append(stream(peer_url, MODEL_ID, messages))
                print(f"backend {ours[-1]}, llama_cpp.server {theirs[-1]}", file=sys.stderr, flush=True)

        cold: list[float] = []
        cached: list[float] = []
        for question in QUESTIONS * args.rounds:
            # A nonce first makes the whole prompt new; the same long prompt again reuses its KV cache.
            nonce = {"role": "system", "content": f"Session {uuid.uuid4().hex}. {LONG_SYSTEM}"}
            cold.append(stream(backend.url, MODEL_ID, [nonce, {"role": "user", "content": question}], 8).ttft)
            cached.append(stream(backend.url, MODEL_ID, [nonce, {"role": "user", "content": question + " "}], 8).ttft)
    finally:
        backend.stop()
        peer.terminate()
        peer.wait()

    ttft_ours, ttft_theirs = median([s.ttft for s in ours]), median([s.ttft for s in theirs])
    tps_ours, tps_theirs = median([s.tokens_per_s for s in ours]), median([s.tokens_per_s for s in theirs])
    print(f"| metric (median of {len(ours)} requests each) | HavenCore backend | llama_cpp.server | ratio |")
    print("|---|---|---|---|")
    print(
        f"| time to first token | {ttft_ours * 1000:.0f} ms | {ttft_theirs * 1000:.0f} ms "
        f"| {ttft_ours / ttft_theirs:.3f} ({(ttft_ours - ttft_theirs) * 1000:+.1f} ms) |"
    )
    print(f"| decode tokens/s | {tps_ours:.1f} | {tps_theirs:.1f} | {tps_ours / tps_theirs:.3f} |")
    print()
    print(f"| long system prompt (~{len(LONG_SYSTEM.split())} words), median of {len(cold)} | time to first token |")
    print("|---|---|")
    print(f"| cold (new prompt) | {median(cold) * 1000:.0f} ms |")
    print(f"| cached (same system prompt, new user turn) | {median(cached) * 1000:.0f} ms "
          f"(cold / cached = {median(cold) / median(cached):.1f}x) |")  # fmt: skip


if __name__ == "__main__":
    main()
