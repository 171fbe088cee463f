#!/usr/bin/env bash
# Render a gaitlab report for a human check: a full-page screenshot of report.html in headless
# Chromium and PNG pages of report.pdf (pdftoppm). Needs Debian's chromium and poppler-utils:
#   sudo apt-get install chromium poppler-utils
# Usage: scripts/look_at_report.sh RESULTS_FOLDER [OUT_FOLDER]
set -euo pipefail
results=${1:?usage: scripts/look_at_report.sh RESULTS_FOLDER [OUT_FOLDER]}
out=${2:-$results/look}
mkdir -p "$out"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "chromium not found (apt-get install chromium)" >&2; exit 1; }
command -v pdftoppm >/dev/null || { echo "pdftoppm not found (apt-get install poppler-utils)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --window-size=1200,${GAITLAB_SCREENSHOT_HEIGHT:-6000} --screenshot="$out/report_html.png" \
  "file://$(realpath "$results/report.html")" 2>/dev/null
pdftoppm -r 70 -png "$results/report.pdf" "$out/report_pdf"
ls "$out"
