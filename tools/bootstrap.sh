#!/usr/bin/env bash
# Create .venv with Python 3.11 and install exactly what requirements.lock pins (uv, from PyPI, does it fast).
# On a fresh Debian machine as root, installs Python's venv support first when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. tools/lib.sh

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON=$candidate; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  install_or_explain "Python's venv support" python3 python3-venv
  PYTHON=python3
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "Haneul needs Python 3.11 (Debian 12 ships it); found $("$PYTHON" --version). Set PYTHON=/path/to/python3.11." >&2
    exit 1
  }
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    install_or_explain "Python's venv support" python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$(grep -o '^uv==[^ ]*' requirements.lock)"
fi
# --system-certs: trust the platform certificate store (as pip and apt do), e.g. a company proxy CA.
.venv/bin/uv pip sync --quiet --system-certs --python .venv/bin/python requirements.lock
