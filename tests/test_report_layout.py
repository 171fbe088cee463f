"""The report as a reader gets it: the PDF read back from its own text positions (page count, page 1
holding the whole story, no orphaned heading, no text running into other text or off the page,
CJK and emoji printed without a warning), the HTML rendered in headless Chromium at phone and
desktop width, the comparison, the clinic fields and the overlay's values. The reports are rendered
once for the module from the session's cached pose runs."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import SAMPLES, run_cli
from gaitlab.analysis import analyze_landmarks
from gaitlab.config import RunnerInfo
from gaitlab.report import report_figures, write_report
from gaitlab.report.content import value_text

RUNNER = {"name": "P-017 李小龙 김민준 🏃", "age": 42, "sex": "female", "injured_side": "left", "height_m": 1.75,
          "speed_kmh": 10.9, "shoe": "Trainer 3", "session": "2", "clinician": "A. Physio",
          "clinic": "Riverside Running Clinic", "notes": "knee pain 膝の痛み 😀"}
EARLIER_RECORD = {"created_utc": "2025-01-05T09:30:00+00:00", "runner": {"speed_kmh": 10.0},
                  "clips": [{"name": "side_left_normal.mp4"}]}


@pytest.fixture(scope="module", autouse=True)
def _every_value_printed(every_value_validated):
    """These tests check the report's layout and wording with every value printed (the published
    accuracy figures decide what a real report prints; tests/test_validate.py checks those)."""
    return every_value_validated


@pytest.fixture(scope="module")
def reports(tmp_path_factory, pose_cache):
    """Three reports written by write_report: one side clip, a side + rear session, and the side
    clip compared with an earlier session filmed from the other side; with everything the layout
    engine logged or wrote to stderr while rendering."""
    side = analyze_landmarks(pose_cache(SAMPLES / "side_right_overstride.mp4"), RunnerInfo(height_m=1.75))
    rear = analyze_landmarks(pose_cache(SAMPLES / "rear_drop_valgus.mp4"))
    earlier = analyze_landmarks(pose_cache(SAMPLES / "side_left_normal.mp4"), RunnerInfo(height_m=1.75))
    root = tmp_path_factory.mktemp("reports")
    out = {k: root / k for k in ("single", "session", "compare")}
    for folder in out.values():
        folder.mkdir()
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logging.getLogger().addHandler(handler)
    err = root / "stderr.txt"
    saved = os.dup(2)
    try:
        with open(err, "wb") as fh, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            os.dup2(fh.fileno(), 2)
            write_report([side], ["side_right_overstride.mp4"], out["single"], runner=RUNNER, overlay=False)
            write_report([side, rear], ["side_right_overstride.mp4", "rear_drop_valgus.mp4"], out["session"],
                         runner=RUNNER, overlay=False)
            write_report([side], ["side_right_overstride.mp4"], out["compare"], runner=RUNNER, earlier=[earlier],
                         earlier_record=EARLIER_RECORD, overlay=False)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        logging.getLogger().removeHandler(handler)
    return {"folders": out, "results": {"side": side, "rear": rear, "earlier": earlier},
            "stderr": err.read_text(errors="replace"), "logged": [r.getMessage() for r in records],
            "warnings": [str(w.message) for w in caught]}


def _pdf(folder):
    import pdfplumber

    return pdfplumber.open(folder / "report.pdf")


def test_pdf_pages_single_clip_at_most_3_and_session_at_most_5(reports):
    with _pdf(reports["folders"]["single"]) as pdf:
        assert len(pdf.pages) <= 3
    with _pdf(reports["folders"]["session"]) as pdf:
        assert len(pdf.pages) <= 5
    with _pdf(reports["folders"]["compare"]) as pdf:
        assert len(pdf.pages) <= 4  # one clip and the comparison


def test_page_one_is_the_whole_story(reports):
    from gaitlab.report import report_content

    res = reports["results"]
    content = report_content([res["side"], res["rear"]], ["side_right_overstride.mp4", "rear_drop_valgus.mp4"], RUNNER)
    with _pdf(reports["folders"]["session"]) as pdf:
        page1 = pdf.pages[0]
        text = " ".join(page1.extract_text().split())
        images = len(page1.images)
        later = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages[1:])
    # Runner and session details, the date with its zone, the speed in every unit.
    for needle in ("P-017 李小龙", "42 years, female", "Injured side: left", "175 cm", "Trainer 3", "Session: 2",
                   "A. Physio", "Riverside Running Clinic", "10.9 km/h", "3.03 m/s", "5:30/km", "8:52/"):
        assert re.sub(r"\s", "", needle) in re.sub(r"\s", "", text), needle
    html = (reports["folders"]["session"] / "report.html").read_text()
    assert "10.9 km/h (3.03 m/s; 5:30/km, 8:52/mi)" in html
    assert re.search(r"Date: \d{4}-\d\d-\d\d \d\d:\d\d (UTC|\S+ \(UTC[+-]\d\d:\d\d\))", text)
    # The four measures that matter, per side, with their typical error.
    for label in ("Cadence", "Overstride", "Contralateral pelvic", "Knee frontal plane"):  # labels wrap in their cells
        assert label in text, label
    fppa = content.row("knee_fppa_deg")
    assert f"{value_text('knee_fppa_deg', fppa.values['left'], signed=False).split()[0]}" in text
    for metric in ("knee_fppa_deg", "overstride_cm"):  # the typical error, as the summary gives it
        assert content.row(metric).uncertainty_short() in text, metric
    # At most three findings, each with the focus it suggests and its key frame, all on page 1.
    assert 1 <= len(content.findings) <= 3
    for f in content.findings:
        assert re.sub(r"\s", "", f["text"])[:50] in re.sub(r"\s", "", text), f["text"]
        if f["focus"]:
            when = f", {f['focus']['when']}" if f["focus"]["when"] else ""  # its condition, where it has one
            assert f"Focus to consider: {f['focus']['title']}{when}." in text
    assert images >= sum(1 for f in content.findings if f["frame"])
    assert "All measures" not in text and "All measures" in later  # the detail follows


def _lines(page):
    """Text lines of a page: (top, bottom, text, largest font size, bold)."""
    lines = {}
    for ch in page.chars:
        key = round(ch["top"] / 2)
        lines.setdefault(key, []).append(ch)
    out = []
    for chars in lines.values():
        chars.sort(key=lambda c: c["x0"])
        size = max(c["size"] for c in chars)
        bold = all("Bold" in c["fontname"] for c in chars if c["text"].strip())
        out.append((min(c["top"] for c in chars), max(c["bottom"] for c in chars),
                    "".join(c["text"] for c in chars), size, bold))
    return sorted(out)


@pytest.mark.parametrize("which", ["single", "session", "compare"])
def test_no_orphaned_heading_and_no_overflowing_text(reports, which):
    with _pdf(reports["folders"][which]) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            footer = page.height - 11 * 72 / 25.4  # the bottom margin holds only the page footer
            body = [ln for ln in _lines(page) if ln[1] < footer]
            last = body[-1]
            # Headings are bold and at least 9 pt; the last line of a page is never one.
            assert not (last[4] and last[3] >= 8.9), f"page {number} ends with the heading {last[2]!r}"
            # Every character inside the page's margins.
            for ch in page.chars:
                assert 10 * 72 / 25.4 - 1.5 <= ch["x0"] and ch["x1"] <= page.width - 10 * 72 / 25.4 + 1.5, \
                    f"page {number}: {ch['text']!r} outside the margins"
            # No word printed over another (a cell's text running into its neighbour).
            words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
            box = np.array([[w["x0"], w["top"], w["x1"], w["bottom"]] for w in words])
            ix = np.minimum(box[:, None, 2], box[None, :, 2]) - np.maximum(box[:, None, 0], box[None, :, 0])
            iy = np.minimum(box[:, None, 3], box[None, :, 3]) - np.maximum(box[:, None, 1], box[None, :, 1])
            area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
            overlap = np.clip(ix, 0, None) * np.clip(iy, 0, None) > 0.2 * np.minimum(area[:, None], area[None, :])
            np.fill_diagonal(overlap, False)
            pairs = [(words[i]["text"], words[j]["text"]) for i, j in zip(*np.nonzero(np.triu(overlap)))]
            assert not pairs, f"page {number}: overlapping text {pairs[:5]}"


def test_cjk_and_emoji_print_without_warnings(reports):
    with _pdf(reports["folders"]["single"]) as pdf:
        chars = [c for p in pdf.pages for c in p.chars]
    fonts = {c["text"]: c["fontname"] for c in chars}
    for ch in "李小龙김민준膝の痛み":
        assert ch in fonts, ch
        assert "DejaVu" not in fonts[ch], (ch, fonts[ch])  # drawn by a font that has the glyph
    assert any("Emoji" in f for t, f in fonts.items() if ord(t[0]) >= 0x1F300)
    assert not any("Emoji" in fonts[d] for d in "0123456789" if d in fonts)  # digits stay in the text font
    assert reports["stderr"].strip() == "" and not reports["logged"] and not reports["warnings"]


def test_no_negative_zero_no_empty_unit_no_bare_visibility(reports):
    for folder in reports["folders"].values():
        html = (folder / "report.html").read_text()
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S))
        assert not re.search(r"(?<![\w.\d])[-−]0(\.0+)?(?![\d.])", text)
        assert "()" not in text
        assert "leg visibility" not in text and "average at least" not in text
        assert text.count("Overstride (cm)") >= 1 and "leg lengths" not in text  # shown once, in cm
        with _pdf(folder) as pdf:
            pdf_text = " ".join(p.extract_text() for p in pdf.pages)
        assert not re.search(r"(?<![\w.\d])-0(\.0+)?(?![\d.])", pdf_text)


def test_links_resolve_and_sections_match(reports):
    for folder in reports["folders"].values():
        html = (folder / "report.html").read_text()
        ids = set(re.findall(r'id="([^"]+)"', html))
        links = set(re.findall(r'href="#([^"]+)"', html))
        assert links and links <= ids, links - ids
        assert {"summary", "measures", "keyframes", "plots", "focus", "quality", "validation", "sources"} <= ids
        with _pdf(folder) as pdf:
            pdf_text = " ".join(p.extract_text() for p in pdf.pages)
        for heading in ("Summary", "All measures", "Key frames", "Focus areas to consider",
                        "Capture quality and what to refilm", "How these numbers were checked", "Sources"):
            assert heading in pdf_text and f">{heading}<" in html, heading


def test_comparison_says_what_changed(reports):
    from gaitlab.report import report_content

    res = reports["results"]
    c = report_content([res["side"]], ["side_right_overstride.mp4"], RUNNER, earlier=[res["earlier"]],
                       earlier_record=EARLIER_RECORD).comparison
    assert c["date"].startswith("2025-01-05")
    # Filmed from the other side, and at another speed: both said.
    assert any("opposite sides" in w for w in c["warnings"])
    assert any("speeds differ" in w for w in c["warnings"])
    rows = {r["metric"]: r for r in c["rows"]}
    assert "cadence_spm" in rows and "overstride_cm" in rows and "shank_angle_deg" in rows
    for r in rows.values():
        assert r["verdict"].startswith(("changed", "no detectable change", "cannot tell yet"))
        assert r["threshold_text"]
        for cell in r["cells"]:
            changed = r["threshold"] is not None and abs(cell["change_value"]) > r["threshold"]
            assert (cell["side"] in r["verdict"] or r["verdict"] == "changed" or "both" in r["verdict"]) if changed \
                else True
        assert r["changed"] == any(abs(cell["change_value"]) > r["threshold"] for cell in r["cells"]) \
            if r["threshold"] is not None else not r["changed"]
    # Cadence: no published SDD, so twice gaitlab's typical error, labelled as gaitlab's own.
    summary = reports["results"]["side"].summary.set_index(["metric", "side"])
    cad = rows["cadence_spm"]
    assert cad["threshold"] == pytest.approx(2 * summary.loc[("cadence_spm", "both"), "uncertainty"])
    assert "twice gaitlab's typical error" in cad["threshold_text"]
    # Shank angle: the larger of the published 2D SDD (Dingenen 2018, 4.8 deg) and twice the typical error.
    typical = summary.loc[[("shank_angle_deg", "left"), ("shank_angle_deg", "right")], "uncertainty"].max()
    assert rows["shank_angle_deg"]["threshold"] == pytest.approx(max(4.8, 2 * typical))
    html = (reports["folders"]["compare"] / "report.html").read_text()
    assert "Change since the earlier session (2025-01-05" in html


def _chromium():
    exe = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    assert exe, "headless Chromium is missing: scripts/setup.sh --test installs it (make test does)"
    return exe


def _browser(exe, profile, *args, timeout=90):
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=timeout)


MEASURE = """<script>
window.addEventListener('load', () => {
  const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > w + 1 || r.left < -1)) out.push(el.tagName + '.' + el.className + ':' + Math.round(r.right));
  }
  document.body.setAttribute('data-layout', JSON.stringify(
    {inner: w, scroll: document.documentElement.scrollWidth, outside: out.slice(0, 10)}));
});
</script></body>"""


@pytest.mark.parametrize("width", [390, 1280])
def test_html_fits_phone_and_desktop_width(reports, tmp_path, width):
    exe = _chromium()
    page = tmp_path / "measured.html"
    page.write_text((reports["folders"]["session"] / "report.html").read_text().replace("</body>", MEASURE))
    r = _browser(exe, tmp_path / "profile", f"--window-size={width},2000", "--dump-dom", page.as_uri())
    m = re.search(r"data-layout=\"([^\"]+)\"", r.stdout)
    assert m, r.stderr[-500:]
    layout = json.loads(m.group(1).replace("&quot;", '"'))
    assert layout["inner"] == width
    assert layout["scroll"] <= width, layout  # no horizontal scrolling
    assert not layout["outside"], layout      # nothing cut off at the edges
    # The screenshot a person would see: the page's full width, with content on it.
    shot = tmp_path / f"report_{width}.png"
    _browser(exe, tmp_path / "profile", f"--window-size={width},1600", f"--screenshot={shot}",
             (reports["folders"]["session"] / "report.html").as_uri())
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[1] == width and img.std() > 20


def test_pace_speed_and_runner_file(tmp_path):
    from gaitlab.clinic import parse_speed, runner_info
    from gaitlab.errors import UsageError

    assert parse_speed("5:30/km") == pytest.approx(60 / 5.5)
    assert parse_speed("5:30") == pytest.approx(60 / 5.5)  # a bare pace is per km
    assert parse_speed("8:50/mi") == pytest.approx(1.609344 * 60 / (8 + 50 / 60))
    assert parse_speed("12") == 12 and parse_speed("3.3m/s") == pytest.approx(11.88)
    for bad in ("5:61/km", "0:00", "fast", "12 furlongs"):
        with pytest.raises(UsageError):
            parse_speed(bad)
    toml = tmp_path / "runner.toml"
    toml.write_text('name = "P-9"\nage = 51\nsex = "Male"\nheight = "182cm"\nspeed = "4:45/km"\n'
                    'injured-side = "right"\nclinic = "Riverside"\n', encoding="utf-8")
    info = runner_info(runner_file=toml, age=52)  # options win over the file
    assert (info.name, info.age, info.sex, info.injured_side, info.clinic) == ("P-9", 52, "male", "right", "Riverside")
    assert info.height_m == pytest.approx(1.82) and info.speed_kmh == pytest.approx(60 / 4.75)
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "shoe_size": 44}')
    with pytest.raises(UsageError, match="unknown runner fields: shoe_size"):
        runner_info(runner_file=bad)
    r = run_cli("analyze", SAMPLES / "side_left_normal.mp4", "--out", tmp_path / "x", "--speed", "5:75/km")
    assert r.returncode == 2 and "--speed" in r.stderr and "Traceback" not in r.stderr


def test_overlay_writes_the_report_values_legibly(reports):
    from gaitlab.report.overlay import TEXT_HEIGHT, font_scale, overlay_plan

    side = reports["results"]["side"]
    lines, medians = overlay_plan(side)
    # At the typical left step's contact frame the overlay says what its key frame says.
    figures = report_figures([side], ["side_right_overstride.mp4"])
    contact = next(k for k in figures.frames[0]["frames"] if k.side == "left" and k.event == "initial_contact")
    step = side.steps.set_index("step").loc[contact.step]
    on_screen = [t for t, _ in lines[int(step.ic_frame)]]
    for metric in ("knee_flexion_ic_deg", "overstride_cm", "shank_angle_deg"):
        value = value_text(metric, step[metric])
        assert any(t.startswith("left") and t.endswith(value) for t in on_screen), (metric, on_screen)
        assert value in contact.caption
    # The corner box repeats the report's medians; pelvic drop is a number only where the summary prints it.
    rows = side.summary[(side.summary.metric == "overstride_cm")].set_index("side")
    assert any(value_text("overstride_cm", rows.loc["left", "median"]) in t for t, _ in medians)
    rear = reports["results"]["rear"]
    rear_lines, _ = overlay_plan(rear)
    shown = rear.summary.query("metric == 'pelvic_drop_deg' and side != 'both'").measurable.any()
    assert any("pelvic drop" in t for frame in rear_lines for t, _ in frame) == bool(shown)
    # Text at least 2 % of the frame height.
    for h in (480, 720):
        (_, th), _ = cv2.getTextSize("H", cv2.FONT_HERSHEY_SIMPLEX, 0.8 * font_scale(h), 1)
        assert th >= 0.02 * h and TEXT_HEIGHT * 0.8 >= 0.02
