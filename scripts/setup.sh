#!/usr/bin/env bash
# Installs everything gaitlab needs, idempotently: the system libraries MediaPipe and OpenCV link
# (Debian/Ubuntu packages), then a virtual environment in .venv with gaitlab and its Python packages.
# Called by `make demo` and `make test`; safe to run again (it skips what is already done).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
SYSTEM_PACKAGES=(libegl1 libgles2 libgl1 libglib2.0-0)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "gaitlab setup: installing system packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "gaitlab setup: creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi

# Reinstall only when the package definition changed since the last install.
stamp="$VENV/.gaitlab-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "gaitlab setup: installing gaitlab and its Python packages into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
