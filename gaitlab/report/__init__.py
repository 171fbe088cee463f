"""The clinician report: data (:mod:`.content`) -> figures (:mod:`.keyframes`, :mod:`.plots`) ->
one HTML page, which is also the PDF's layout (print CSS, :mod:`.pdf`), plus the annotated overlay
video (:mod:`.overlay`). No metric is computed here; everything shown comes from the analysed clips."""

from __future__ import annotations

import base64
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .content import ReportContent, report_content

__all__ = ["ReportContent", "report_content", "ReportFigures", "report_figures", "render_html", "write_report"]

HTML_NAME, PDF_NAME = "report.html", "report.pdf"


@dataclass
class ReportFigures:
    frames: list[dict]    # [{"name": clip, "frames": [KeyFrame]}]
    plots: list[dict]     # [{"name": clip, "plots": [{"title": str, "kind": "steps"|"cycle", "png": bytes}]}]
    prepared: list[tuple]  # per clip: (clean landmarks, pelvis tilt or None)


def prepare(result):
    """The cleaned landmarks and, for frontal views, the pelvis tilt a clip's metrics came from."""
    from ..analysis import clean_landmarks, pelvis_tilt_signal
    from ..views import View

    view = View.from_dict(result.view)
    clean = clean_landmarks(result.landmarks, view)
    tilt = pelvis_tilt_signal(clean, view)[0] if view.kind in ("rear", "front") else None
    return clean, tilt


def report_figures(results: list, names: list[str], videos: list | None = None) -> ReportFigures:
    from .keyframes import key_frames
    from .plots import clip_cycle_plot, per_step_plot

    frames, plots, prepared = [], [], []
    # The key frames are decoded from the video (mostly outside Python's lock) while the plots are drawn.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitlab-keyframes") as pool:
        for i, (res, name) in enumerate(zip(results, names)):
            clean, tilt = prepare(res)
            prepared.append((clean, tilt))
            video = videos[i] if videos else None
            frames.append({"name": name, "frames": pool.submit(key_frames, res, clean, tilt, video)})
            kind = res.view.get("kind")
            clip_plots = []
            png = per_step_plot(res.steps, kind, res.summary)
            if png:
                clip_plots.append({"title": "Each step over the clip (line: the side's median)", "kind": "steps", "png": png})
            png = clip_cycle_plot(res, clean, tilt)
            if png:
                clip_plots.append({"title": "Over the gait cycle: mean and spread per side", "kind": "cycle", "png": png})
            if clip_plots:
                plots.append({"name": name, "plots": clip_plots})
        for f in frames:
            f["frames"] = f["frames"].result()
    return ReportFigures(frames, plots, prepared)


def render_html(c: ReportContent, figures: ReportFigures) -> str:
    """The report as one self-contained HTML page (images embedded; every text escaped)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("gaitlab", "report/templates"), autoescape=select_autoescape(["html", "j2"]))
    frames = [{"name": f["name"], "frames": [{"event": k.event, "side": k.side, "caption": k.caption,
                                              "b64": base64.b64encode(k.image_jpeg).decode()} for k in f["frames"]]}
              for f in figures.frames]
    plots = [{"name": clip["name"], "plots": [{"title": p["title"], "kind": p["kind"], "b64": base64.b64encode(p["png"]).decode()}
                                              for p in clip["plots"]]} for clip in figures.plots]
    frame_index = {f"{clip['name']}|{k['side']}|{k['event']}": k for clip in frames for k in clip["frames"]}
    summary_metrics = {s["row"].metric for s in c.summary if s["row"] is not None}
    return env.get_template("report.html.j2").render(c=c, frames=frames, plots=plots, frame_index=frame_index,
                                                     summary_metrics=summary_metrics)


def write_report(results: list, names: list[str], folder: str | Path, *, runner: dict | None = None,
                 earlier: list | None = None, earlier_record: dict | None = None, videos: list | None = None,
                 overlay: bool = True, created: str | None = None, progress=None) -> dict[str, Path]:
    """Write ``report.html``, ``report.pdf`` and (with ``overlay``) one ``<clip>_overlay.mp4`` per clip
    into ``folder``; returns their paths by kind. ``progress(done, total, stage)`` is told of each
    stage (report, then the overlay of each clip, naming it)."""
    from dataclasses import replace

    from ..summary import printable_steps
    from .overlay import write_overlay
    from .pdf import write_pdf

    folder = Path(folder)
    # Everything drawn from single steps shows only what the summary prints.
    results = [replace(r, steps=printable_steps(r.steps, r.summary)) for r in results]
    tell = progress or (lambda done, total, stage: None)
    session = ", ".join(names)
    tell(0, 3, f"report {session}")
    c = report_content(results, names, runner, earlier, created=created, earlier_record=earlier_record)
    figures = report_figures(results, names, videos)
    tell(1, 3, f"report {session}")
    html = render_html(c, figures)
    # Every file is written complete under a temporary name first; only then are they all renamed
    # into place, so a failure (a full disk) leaves the earlier report as it was.
    temps: dict[str, tuple[Path, Path]] = {}
    try:
        _temp(temps, "html", folder / HTML_NAME).write_bytes(html.encode("utf-8"))
        tell(2, 3, f"report {session}")
        write_pdf(html, _temp(temps, "pdf", folder / PDF_NAME))
        tell(3, 3, f"report {session}")
        if overlay:
            for i, (res, name) in enumerate(zip(results, names)):
                clean, tilt = figures.prepared[i]
                target = folder / f"{Path(name).stem}_overlay.mp4"
                if write_overlay(res, clean, tilt, _temp(temps, f"overlay:{name}", target),
                                 videos[i] if videos else None,
                                 progress=lambda d, t, n=name: tell(d, t, f"overlay {n}")) is None:
                    del temps[f"overlay:{name}"]
        for tmp, final in temps.values():
            os.replace(tmp, final)
    finally:
        for tmp, _ in temps.values():
            tmp.unlink(missing_ok=True)
            tmp.with_name(f".{tmp.name}.partial").unlink(missing_ok=True)  # the overlay writer's own
    return {kind: final for kind, (_, final) in temps.items()}


def _temp(temps: dict, kind: str, final: Path) -> Path:
    from ..io.files import temp_sibling

    temps[kind] = (temp_sibling(final), final)
    return temps[kind][0]
