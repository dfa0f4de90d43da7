# Shared shell helpers for scripts/setup, scripts/test and scripts/demo.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HAVENCORE_CACHE="${HAVENCORE_CACHE:-$HOME/.cache/havencore}"
PYTHON_VERSION="3.13.5"
PYTHON_SHA256="93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
PYTHON_PREFIX="$HAVENCORE_CACHE/python-$PYTHON_VERSION"
# Packaged test/demo models, one folder each (scripts/install_models.py); tests and the demo read this variable.
export HAVENCORE_MODELS="${HAVENCORE_MODELS:-$HAVENCORE_CACHE/models}"

log() { printf '[havencore] %s\n' "$*" >&2; }
die() { printf '[havencore] error: %s\n' "$*" >&2; exit 1; }

# True when the interpreter is a CPython >= 3.13.2 and < 3.14 with a working venv module.
python_is_usable() {
  local py="$1"
  [ -x "$py" ] || command -v "$py" >/dev/null 2>&1 || return 1
  "$py" - <<'PY' >/dev/null 2>&1
import sys, venv, ensurepip, ssl, sqlite3, lzma, bz2, ctypes  # noqa: F401
assert (3, 13, 2) <= sys.version_info[:3] < (3, 14)
PY
}
