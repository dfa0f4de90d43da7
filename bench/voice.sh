#!/usr/bin/env bash
# Voice benchmark: HavenCore vs wyoming-faster-whisper and wyoming-piper, same machine, same packaged models.
# Installs the peer servers into .venv-bench (once), then runs bench/voice_bench.py, which writes
# docs/BENCHMARKS.md's voice section. Usage: bench/voice.sh [--quick]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/setup"

# faster-whisper 1.2.1 (the peer's) passes av.open(metadata_errors=...), which PyAV 19 no longer accepts.
PEERS=(wyoming-faster-whisper==3.8.1 wyoming-piper==2.5.2 av==15.1.0)
STAMP=$(printf '%s\n' "${PEERS[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv-bench/.havencore-stamp 2>/dev/null)" != "$STAMP" ]; then
  log "installing the peer servers into .venv-bench: ${PEERS[*]}"
  rm -rf .venv-bench
  "$(.venv/bin/python -c 'import sys; print(sys._base_executable)')" -m venv .venv-bench
  UV_CACHE_DIR="$HAVENCORE_CACHE/uv" "$HAVENCORE_CACHE/tools/bin/uv" pip install --quiet --python .venv-bench/bin/python "${PEERS[@]}"
  printf '%s' "$STAMP" >.venv-bench/.havencore-stamp
fi
HF_HUB_OFFLINE=1 exec .venv/bin/python bench/voice_bench.py "$@"
