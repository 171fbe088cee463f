"""The report as a PDF: the same HTML page, laid out for A4 by its print CSS (WeasyPrint, on
Pango and HarfBuzz), so the PDF and the HTML never drift apart. Fonts come from the system
(fontconfig): DejaVu for Latin, Greek and Cyrillic, with CJK and colour-emoji fallbacks that
``scripts/setup.sh`` installs, so any character a name or note holds prints, offline."""

from __future__ import annotations

import logging
from pathlib import Path

#: Loggers of WeasyPrint and the font subsetter: their messages (unsupported CSS, a glyph a font
#: lacks) are about the layout engine, not the runner, and stay off the terminal.
_LOGGERS = ("weasyprint", "weasyprint.progress", "fontTools", "fontTools.subset", "fontTools.ttLib")


def load():
    """Import WeasyPrint (slow: it loads Pango and the fonts), quietly."""
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    import weasyprint

    return weasyprint


def pdf_bytes(html: str) -> bytes:
    """The PDF of a report page (self-contained HTML: only its embedded data: images are loaded,
    nothing from disk or the network)."""
    weasyprint = load()
    return weasyprint.HTML(string=html, url_fetcher=_data_only_fetcher()).write_pdf()


def _data_only_fetcher():
    try:  # WeasyPrint 66 and later
        from weasyprint.urls import URLFetcher

        return URLFetcher(allowed_protocols={"data"})
    except ImportError:
        from weasyprint.urls import default_url_fetcher

        def fetch(url, *args, **kwargs):
            if not url.startswith("data:"):
                raise ValueError("the report loads nothing but its embedded images")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch


def write_pdf(html: str, path: str | Path) -> Path:
    """Write the PDF of ``html`` to ``path`` (directly; the caller makes the write atomic)."""
    path = Path(path)
    path.write_bytes(pdf_bytes(html))
    return path
