"""The report as a PDF (fpdf2), with the same content as the HTML: printable, and easy to attach to
a patient record. The font is the DejaVu Sans that matplotlib ships, so any character a name or
note holds prints, offline."""

from __future__ import annotations

from pathlib import Path

from .content import ReportContent

LEFT_RGB, RIGHT_RGB, FLAG_RGB, MUTED_RGB = (31, 140, 235), (250, 120, 40), (179, 38, 30), (95, 99, 104)


def _fonts(pdf) -> None:
    from matplotlib import font_manager

    regular = Path(font_manager.findfont("DejaVu Sans"))
    bold = regular.with_name("DejaVuSans-Bold.ttf")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold if bold.exists() else regular))


def write_pdf(c: ReportContent, frames: list[dict], plots: list[dict], path: str | Path) -> Path:
    """Write the report to ``path``. ``frames``: [{"name", "frames": [KeyFrame]}]; ``plots``:
    [{"title", "png": bytes}] (the same lists the HTML shows)."""
    import io

    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_margins(12, 12, 12)
    _fonts(pdf)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text, size=13):
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(width, 6.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(218, 220, 224)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(1.5)

    def para(text, size=9, colour=(32, 33, 36), bold=False):
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(width, 4.4, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(32, 33, 36)

    title = c.title + (f": {c.runner['name']}" if c.runner.get("name") else "")
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(width, 8, title, new_x="LMARGIN", new_y="NEXT")
    meta = [c.created, f"gaitlab {c.version}"]
    if c.runner.get("height_m"):
        meta.append(f"height {c.runner['height_m']:.2f} m")
    if c.runner.get("speed_kmh"):
        meta.append(f"speed {c.runner['speed_kmh']:.1f} km/h")
    para(" · ".join(meta), colour=MUTED_RGB)
    for clip in c.clips:
        side = f", camera on the runner's {clip['near_side']}" if clip.get("near_side") else ""
        para(f"{clip['name']}: {clip['view']} view{side}, {clip['fps']:.0f} frames/s, {clip['duration_s']:.1f} s, "
             f"{clip['steps_valid']} of {clip['steps_total']} steps used", colour=MUTED_RGB)
    if c.runner.get("notes"):
        para(f"Notes: {c.runner['notes']}")

    heading("At a glance")
    pdf.set_font("DejaVu", "", 7.5)
    with pdf.table(col_widths=(48, 20, 20, 17, 15, 16, 50), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "CENTER", "RIGHT", "LEFT"),
                   line_height=3.6, padding=1, first_row_as_headings=True) as table:
        table.row(["Measure", "Left", "Right", "R − L", "Steps L/R", "Typical error", "Reference"])
        for clip in c.clips:
            from fpdf.fonts import FontFace

            table.row().cell(f"{clip['view'].capitalize()} view: {clip['name']}", colspan=7,
                             style=FontFace(emphasis="BOLD", fill_color=(232, 234, 237)))
            for r in (r for r in c.rows if r.clip == clip["name"]):
                name = r.label + (f" ({r.unit})" if r.unit else "")
                if r.flags:
                    name += "\n" + "; ".join(f"⚑ {f['label']}" for f in r.flags)
                n = c.source_number(r.reference_source) if r.reference_source else None
                ref = r.reference_text + (f" [{n}]" if n else "")
                steps = f"{r.n_steps.get('left', 0)}/{r.n_steps.get('right', 0)}"
                if r.measurable:
                    name += "".join(f"\n{w}" for w in r.warnings)
                    cells = [name, f"{r.value_text('left')}\n{r.spread_text('left')}",
                             f"{r.value_text('right')}\n{r.spread_text('right')}",
                             r.asymmetry_text() + (f"\nSDD {r.sdd}" if r.sdd else "")]
                else:
                    cells = [name, "not measurable: " + "; ".join(r.warnings), "", ""]
                table.row(cells + [steps, r.uncertainty_short(), ref])
    para("Median over the usable steps of each side; below it the middle half of the steps (25th to 75th percentile). "
         "Typical error: gaitlab's error against exact truth on rendered runners (see the end of this report). "
         "SDD: smallest detectable difference of 2D video for that measure.", size=7.5, colour=MUTED_RGB)

    heading("Findings")
    for f in c.findings:
        para(f"• {f}")
    para("Observations from video for the clinician to interpret with the runner's history and examination; "
         "not a diagnosis.", size=7.5, colour=MUTED_RGB)

    if c.comparison:
        heading("Change since the earlier session")
        pdf.set_font("DejaVu", "", 8)
        with pdf.table(col_widths=(60, 18, 22, 22, 22, 42), line_height=4, padding=1) as table:
            table.row(["Measure", "Side", "Before", "Now", "Change", "Beyond noise?"])
            for r in c.comparison:
                verdict = "no SDD known" if r["exceeds_sdd"] is None else \
                    (f"yes (SDD {r['sdd']})" if r["exceeds_sdd"] else f"no (SDD {r['sdd']})")
                table.row([f"{r['label']} ({r['unit']})", r["side"], r["before"], r["now"], r["change"], verdict])

    heading("Key frames")
    para("The most typical step of each side, with the skeleton gaitlab measured on (blue: left, orange: right, "
         "green: the measurement).", size=7.5, colour=MUTED_RGB)
    cell_w = (width - 8) / 3
    for clip in frames:
        para(clip["name"], bold=True)
        items = clip["frames"]
        for i in range(0, len(items), 3):
            row = items[i:i + 3]
            heights = []
            for k in row:
                from PIL import Image

                with Image.open(io.BytesIO(k.image_jpeg)) as im:
                    heights.append(cell_w * im.height / im.width)
            h = max(heights) + 14
            if pdf.get_y() + h > pdf.h - pdf.b_margin:
                pdf.add_page()
            y0 = pdf.get_y()
            for j, k in enumerate(row):
                x = pdf.l_margin + j * (cell_w + 4)
                pdf.image(io.BytesIO(k.image_jpeg), x=x, y=y0, w=cell_w)
                pdf.set_xy(x, y0 + heights[j] + 0.5)
                pdf.set_font("DejaVu", "", 6.5)
                pdf.set_text_color(*MUTED_RGB)
                pdf.multi_cell(cell_w, 2.8, k.caption)
                pdf.set_text_color(32, 33, 36)
            pdf.set_xy(pdf.l_margin, y0 + h)

    for p in plots:
        from PIL import Image

        pdf.add_page()
        heading(p["title"])
        with Image.open(io.BytesIO(p["png"])) as im:
            aspect = im.height / im.width
        room = pdf.h - pdf.b_margin - pdf.get_y() - 2
        w = min(width, room / aspect)
        pdf.image(io.BytesIO(p["png"]), w=w, h=w * aspect)

    heading("Focus areas to consider")
    para("Where published evidence links a measure to a strength or retraining focus. Suggestions for the clinician, "
         "not a prescription; ⚑: a measure above was flagged.", size=7.5, colour=MUTED_RGB)
    for f in c.focus:
        refs = "".join(f" [{c.source_number(s)}]" for s in f["sources"] if c.source_number(s))
        para(("⚑ " if f["flagged"] else "") + f"{f['title']}: {f['text']}{refs}", bold=False)
        para(f["suggestion"], colour=MUTED_RGB)
        pdf.ln(1)

    heading("Capture quality and what to refilm")
    for q in c.quality:
        para(q["clip"], bold=True)
        if q.get("capture"):
            para(q["capture"], size=7.5, colour=MUTED_RGB)
        for item in q["items"] or ["No problems found with this clip."]:
            para(f"• {item}")
    para("What one camera cannot tell: 2D video sees joint angles projected onto the image; rotation out of that "
         "plane (hip and tibial rotation, 3D knee abduction) is not measured, and the frontal plane projection "
         "angle does not track 3D knee abduction.", size=7.5, colour=MUTED_RGB)

    heading("How these numbers were checked")
    seen = set()
    for r in c.rows:
        if r.uncertainty_text and r.metric not in seen:
            seen.add(r.metric)
            para(f"{r.label}: {r.uncertainty_text}", size=7.5)

    heading("Sources")
    for n, _, text in c.sources:
        para(f"[{n}] {text}", size=7.5)

    path = Path(path)
    pdf.output(str(path))
    return path
