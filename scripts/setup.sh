#!/usr/bin/env bash
# Installs everything gaitlab needs, idempotently: the system libraries MediaPipe and OpenCV link
# and the ones the PDF report is laid out with (Pango, HarfBuzz, fonts: DejaVu for Latin, Greek and
# Cyrillic, Droid Sans Fallback for Chinese and Japanese, Nanum for Korean, Noto colour emoji), then
# a virtual environment in .venv with gaitlab and its Python packages. With --test, also headless
# Chromium, which the report tests render the HTML page with.
# Called by `make demo` and `make test`; safe to run again (it skips what is already done).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
SYSTEM_PACKAGES=(libegl1 libgles2 libgl1 libglib2.0-0
                 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
                 fonts-dejavu-core fonts-droid-fallback fonts-nanum fonts-noto-color-emoji)
if [ "${1:-}" = "--test" ]; then
  SYSTEM_PACKAGES+=(chromium-headless-shell)
fi

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
  # setuptools warns on every editable install that a folder named like the package could shadow it;
  # that is this checkout itself, so the build backend's warnings are kept off the terminal.
  PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
