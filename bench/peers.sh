# Installs the reference servers the benchmarks compare HavenCore with, once (a stamp records what was installed):
# wyoming-faster-whisper and wyoming-piper into .venv-bench, and, for Home Assistant's ollama integration, its
# client into .venv-bench/ha-site (put on hass's path by the benchmark, so the project's test venv stays as it is).
# Sourced by bench/voice.sh and bench/assist.sh after scripts/lib.sh.
# shellcheck shell=bash

install_bench_peers() {
  # faster-whisper 1.2.1 (the peer's) passes av.open(metadata_errors=...), which PyAV 19 no longer accepts.
  local peers=(wyoming-faster-whisper==3.8.1 wyoming-piper==2.5.2 av==15.1.0)
  # The version HA 2026.2.3's ollama integration pins; its own dependencies (httpx, pydantic) are HA's.
  local ha_extra=(ollama==0.5.1)
  local stamp
  stamp=$(printf '%s\n' "${peers[@]}" "${ha_extra[@]}" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$REPO_ROOT/.venv-bench/.havencore-stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  log "installing the reference servers into .venv-bench: ${peers[*]} (and ${ha_extra[*]} for Home Assistant)"
  rm -rf "$REPO_ROOT/.venv-bench"
  "$("$REPO_ROOT/.venv/bin/python" -c 'import sys; print(sys._base_executable)')" -m venv "$REPO_ROOT/.venv-bench"
  local uv=(env UV_CACHE_DIR="$HAVENCORE_CACHE/uv" "$HAVENCORE_CACHE/tools/bin/uv" pip install --quiet)
  "${uv[@]}" --python "$REPO_ROOT/.venv-bench/bin/python" "${peers[@]}"
  "${uv[@]}" --python "$REPO_ROOT/.venv-ha/bin/python" --target "$REPO_ROOT/.venv-bench/ha-site" --no-deps "${ha_extra[@]}"
  printf '%s' "$stamp" >"$REPO_ROOT/.venv-bench/.havencore-stamp"
}
