#!/usr/bin/env bash
# Render a gaitlab report for a human check: screenshots of report.html in headless Chromium at
# phone (390 px) and desktop (1280 px) width, and PNG pages of report.pdf (pypdfium2, which the
# development install brings). Needs Debian's headless Chromium (scripts/setup.sh --test installs it).
# Usage: scripts/look_at_report.sh RESULTS_FOLDER [OUT_FOLDER]
set -euo pipefail
results=${1:?usage: scripts/look_at_report.sh RESULTS_FOLDER [OUT_FOLDER]}
out=${2:-$results/look}
here=$(cd "$(dirname "$0")/.." && pwd)
py="$here/.venv/bin/python"
[ -x "$py" ] || py=python3
[ -f "$results/report.html" ] || { echo "no report.html in $results" >&2; exit 1; }
mkdir -p "$out"
browser=$(command -v chromium-headless-shell || command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "chromium not found (apt-get install chromium-headless-shell)" >&2; exit 1; }
# A file URL with every special character (#, ?, %, spaces) escaped: a bare '#' would end the path.
url=$("$py" -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$results/report.html")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for width in 390 1280; do
  rm -f "$out/report_html_$width.png"
  "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
    --window-size=$width,${GAITLAB_SCREENSHOT_HEIGHT:-5000} --screenshot="$out/report_html_$width.png" "$url" 2>/dev/null || true
  [ -s "$out/report_html_$width.png" ] || { echo "chromium wrote no screenshot of $url" >&2; exit 1; }
done
"$py" - "$results/report.pdf" "$out" <<'PY'
import sys
import pypdfium2 as pdfium
pdf = pdfium.PdfDocument(sys.argv[1])
for i, page in enumerate(pdf):
    page.render(scale=100 / 72).to_pil().save(f"{sys.argv[2]}/report_pdf-{i + 1}.png")
PY
ls "$out"
