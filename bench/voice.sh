#!/usr/bin/env bash
# Voice benchmark: HavenCore vs wyoming-faster-whisper and wyoming-piper, same machine, same packaged models.
# Installs the peer servers into .venv-bench (once), then runs bench/voice_bench.py, which writes
# docs/BENCHMARKS.md's voice section. Usage: bench/voice.sh [--quick]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
# shellcheck source=bench/peers.sh
source "$REPO_ROOT/bench/peers.sh"
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/setup"
install_bench_peers
HF_HUB_OFFLINE=1 exec .venv/bin/python bench/voice_bench.py "$@"
