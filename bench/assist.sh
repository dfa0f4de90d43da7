#!/usr/bin/env bash
# Assist benchmark: HavenCore's pipeline vs the reference stack (HA's wyoming integration with wyoming-faster-whisper
# and wyoming-piper, and HA's ollama integration on the same llama.cpp model) in one Home Assistant, turns
# interleaved; then prompt tokens per LLM turn for 50 and 500 exposed entities. Prints Markdown tables.
# Usage: bench/assist.sh [--turns N]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
# shellcheck source=bench/peers.sh
source "$REPO_ROOT/bench/peers.sh"
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/setup"
install_bench_peers
exec .venv-ha/bin/python -m bench.assist_latency "$@"
