"""How accurate each printed number is, as measured by ``gaitlab validate`` on truth sets no constant
was tuned on: the one source of every error figure gaitlab prints (report, summary, README).

``gaitlab/data/accuracy.json`` holds, per metric, view, side role (``near``/``far`` leg in a side
view, ``left``/``right`` from behind or in front, ``both`` for cadence and right-minus-left) and
frame-rate band, the number of clips, the bias, and the median and 95th-percentile absolute error
of the value the report prints (the per-side median over a clip's steps) against the truth, with
the provenance of the validation runs (commit, date, sets, clip counts). It is written by
:func:`publish` from the tables of ``gaitlab validate`` runs (``python -m gaitlab.accuracy``).

What a measure needs (``accuracy_needed`` per metric in ``data/references.json``) decides whether
a value is printed: a value is shown only where the 95th-percentile error measured for its view,
side role and frame rate (:func:`figure`) is within what it needs; otherwise the summary withholds
it and says why.
A value timed by the contact or read at it also waits for the contacts on real clips with
hand-marked contacts (``real_events``) to be within a frame on average (:func:`verdict`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .references import data as references

FILE = "accuracy.json"
#: A figure needs at least this many clips measured: the 95th percentile of fewer is little more than
#: the largest error of a handful (a frame-rate band with fewer uses the all-rates figure; with
#: fewer over all rates, the measure counts as not validated there).
MIN_CLIPS = 10


#: The figure ``kind`` of the overall cadence of clips too short for the step rhythm alone
#: (:func:`gaitlab.analysis.short_clip_cadence`), measured on validation clips cut short
#: (:func:`gaitlab.validation.compare.compare_short_clips`);
#: ``value`` is the printed value of a clip of any length, ``right_minus_left`` the difference.
SHORT_CLIP = "short_clip"


def fps_band(fps: float) -> str:
    """The frame-rate band a clip's figures come from."""
    return "<50" if fps < 50 else "50-90" if fps < 90 else ">=90"


#: An accuracy file to use instead of the published one: a lab that ran ``gaitlab validate`` on its
#: own clips (and ``python -m gaitlab.accuracy RUN --out FILE``) can point gaitlab at its figures.
ENVIRONMENT = "GAITLAB_ACCURACY_FILE"


@lru_cache(maxsize=None)
def published() -> dict:
    """The accuracy figures in use: ``data/accuracy.json``, or the file named by the environment
    variable :data:`ENVIRONMENT`."""
    import os

    other = os.environ.get(ENVIRONMENT)
    if other:
        return json.loads(Path(other).read_text(encoding="utf-8"))
    return json.loads(resources.files("gaitlab").joinpath("data", FILE).read_text(encoding="utf-8"))


def depends_on_timing(metric: str) -> bool:
    """Whether a measure is timed by the contact or read at it (``timing`` or ``at_contact`` in
    references.json), so that its error depends on the frame rate."""
    spec = references()["metrics"].get(metric, {})
    return bool(spec.get("timing") or spec.get("at_contact"))


def figure(metric: str, view: str, role: str, fps: float, kind: str = "value") -> dict | None:
    """The measured error of a printed value; None when gaitlab was not validated there.

    A measure timed by the contact (:func:`depends_on_timing`) is judged by the figure for its
    frame-rate band when enough clips had one, else by the figure over all rates. Any other measure
    is judged by the worse of the two: its error has no reason to shrink with the frame rate, and a
    band of 10-20 clips can look better than the whole by chance (in the validation run of 2026-12-07,
    hip adduction from behind: 95 % of the 15 clips at 30 frames/s within 2.8 deg, of all 54 within
    5.9)."""
    from .validation.run import judged_role

    role = judged_role(view, role)  # from behind or in front the two sides are judged pooled
    rows = [f for f in published()["figures"]
            if f["metric"] == metric and f["view"] == view and f["role"] == role and f["kind"] == kind]
    band = [f for f in rows if f["fps_band"] == fps_band(fps) and clips_measured(f) >= MIN_CLIPS]
    overall = [f for f in rows if f["fps_band"] == "all" and clips_measured(f) >= MIN_CLIPS]
    if band and overall and not depends_on_timing(metric):
        return max(band[0], overall[0], key=lambda f: f["p95_abs"])
    if band:
        return band[0]
    return overall[0] if overall else None


def clips_measured(fig: dict) -> int:
    """How many clips a figure was measured on."""
    return int(fig.get("n_clips_measured", fig["n_measured"]))


def needed(metric: str, fps: float | None = None) -> float | None:
    """The error a metric can have and still be useful (``accuracy_needed`` in references.json);
    below the frame rate timing needs, a timing metric may have ``below_timing_fps`` and is printed
    as approximate."""
    from .references import constant

    spec = references()["metrics"].get(metric, {}).get("accuracy_needed")
    if not spec:
        return None
    if fps is not None and "below_timing_fps" in spec and fps < constant("timing_min_fps"):
        return float(spec["below_timing_fps"])
    return float(spec["value"])


#: Values timed by the contact or read at it (``timing`` or ``at_contact`` in references.json) are
#: printed only while gaitlab's contacts on real clips with hand-marked contacts (``real_events``)
#: are within this many frames of the marks on average: a renderer's runners cannot show how a
#: real runner's knee and foot move around the contact.
REAL_CONTACT_MAX_BIAS_FRAMES = 1.0


def real_contact_bias(view: str, doc: dict | None = None) -> dict | None:
    """Initial-contact timing on the real clips with hand-marked contacts of this view, over both
    legs (``bias_ms``, ``bias_frames``, ``n_clips``), or None where there are none (from ``doc``,
    by default the published accuracy.json)."""
    rows = [e for e in (doc or published()).get("real_events", [])
            if e["event"] == "initial_contact" and e["view"] == view and e["role"] == "both" and e["fps_band"] == "all"]
    return rows[0] if rows and rows[0].get("bias_frames") is not None else None


def verdict(metric: str, view: str, role: str, fps: float, kind: str = "value") -> tuple[bool, dict | None, str]:
    """(shown, figure, reason withheld): shown only where the measured 95th-percentile error is
    within what the metric needs and, for a value timed by or read at the contact, where contacts
    on real hand-marked clips are on time (:data:`REAL_CONTACT_MAX_BIAS_FRAMES`)."""
    fig = figure(metric, view, role, fps, kind)
    need = needed(metric, fps)
    if fig is None:
        return False, None, "gaitlab has not yet been validated for this view and side"
    spec = references()["metrics"].get(metric, {})
    if need is not None and not fig["p95_abs"] <= need:
        unit = f" {spec['unit']}" if spec.get("unit") else ""
        return False, fig, (f"gaitlab's error here was up to {fig['p95_abs']:.{_decimals(metric)}f}{unit} "
                            f"(95 % of validation clips), more than the {need:g}{unit} this measure allows")
    if contacts_off_on_real_clips(metric, view):
        real = real_contact_bias(view)
        clips = "a real treadmill clip" if real["n_clips"] == 1 else f"{real['n_clips']} real clips"
        return False, fig, (f"on {clips} with contacts marked by hand, gaitlab's contacts came "
                            f"{abs(real['bias_ms']):.0f} ms {'early' if real['bias_ms'] < 0 else 'late'} on average "
                            f"(more than a frame), and this value depends on the moment of contact")
    return True, fig, ""


def contacts_off_on_real_clips(metric: str, view: str, doc: dict | None = None) -> bool:
    """Whether a value timed by or read at the contact is withheld because gaitlab's contacts on
    real hand-marked clips of this view are more than :data:`REAL_CONTACT_MAX_BIAS_FRAMES` off."""
    real = real_contact_bias(view, doc)
    return bool(depends_on_timing(metric) and real and abs(real["bias_frames"]) > REAL_CONTACT_MAX_BIAS_FRAMES)


def _decimals(metric: str) -> int:
    return int(references()["metrics"].get(metric, {}).get("decimals", 1)) + 1


def rounded(fig: dict | None, metric: str) -> float:
    """The 95th-percentile error of a figure at the precision the report prints (NaN without one)."""
    return round(float(fig["p95_abs"]), _decimals(metric)) if fig else float("nan")


def describe(fig: dict | None, metric: str) -> str:
    """The figure in words, for the report's typical-error column."""
    if fig is None:
        return "not validated"
    from .validation.compare import SHORT_CLIP_STEPS

    unit = references()["metrics"].get(metric, {}).get("unit", "")
    d = _decimals(metric)
    clips = (f"{clips_measured(fig)} validation clips" if fig.get("kind") != SHORT_CLIP else
             f"{clips_measured(fig)} validation clips cut to {SHORT_CLIP_STEPS[0]}-{SHORT_CLIP_STEPS[-1]} steps")
    return (f"95 % of {clips} within {fig['p95_abs']:.{d}f} {unit} "
            f"(median {fig['median_abs']:.{d}f}, bias {_signed(fig['bias'], d)})").replace("  ", " ")


def publish(runs, out: str | Path | None = None) -> dict:
    """accuracy.json from the output folders of ``gaitlab validate`` runs on untuned sets: their
    per-clip tables are pooled and the error figures recomputed over the union."""
    from .validation.run import event_table, metric_table

    clips, sides, events, provenance = [], [], [], []
    for run in map(Path, runs):
        c = pd.read_csv(run / "clips.csv")
        clips.append(c)
        if (run / "sides.csv").stat().st_size > 1:
            sides.append(pd.read_csv(run / "sides.csv"))
        if (run / "events.csv").stat().st_size > 1:
            events.append(pd.read_csv(run / "events.csv"))
        provenance.append(json.loads((run / "provenance.json").read_text()))
    clips_df = pd.concat(clips, ignore_index=True)
    metrics = metric_table(pd.concat(sides, ignore_index=True), clips_df)
    events_df = pd.concat(events, ignore_index=True)
    timing = event_table(events_df, clips_df)
    # Real clips with hand-marked contacts, both legs together: the check on contact timing that
    # no renderer can give (see verdict).
    real_clips = clips_df[clips_df.source == "hand-marked"]
    real = events_df[events_df["clip"].isin(real_clips["clip"])]
    real_timing = event_table(real.assign(role="both"), real_clips) if len(real) else pd.DataFrame()

    def records(df):
        df = df.replace({np.nan: None})
        return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in df.to_dict("records")]

    doc = {"_about": "Error figures of every value gaitlab prints, measured by gaitlab validate on truth sets no "
                     "constant was tuned on. Written by `python -m gaitlab.accuracy RUN...`; read through "
                     "gaitlab.accuracy.",
           "provenance": {"runs": provenance, "clips": int(len(clips_df)), "refused": int(clips_df.refused.sum())},
           "figures": records(metrics), "events": records(timing), "real_events": records(real_timing)}
    if out is not None:
        Path(out).write_text(json.dumps(doc, indent=1) + "\n")
    published.cache_clear()
    return doc


README_BEGIN, README_END = "<!-- accuracy table: written by python -m gaitlab.accuracy --readme -->", "<!-- end of accuracy table -->"
ROLE_TEXT = {"near": "near leg", "far": "far leg", "left": "left", "right": "right", "both": "both",
             "sides": "each side (left and right pooled)"}


def _interval(fig: dict, decimals: int) -> str:
    """`` (lo-hi)``: the bootstrap interval of a figure's 95th percentile, where it has one."""
    lo, hi = fig.get("p95_lo"), fig.get("p95_hi")
    return f" ({lo:.{decimals}f}-{hi:.{decimals}f})" if lo is not None and hi is not None else ""


def _signed(value: float, decimals: int) -> str:
    v = round(float(value), decimals) + 0.0
    return f"{v:+.{decimals}f}" if v else f"{0:.{decimals}f}"


def readme_table(doc: dict | None = None) -> str:
    """The README's accuracy table, from accuracy.json: per metric, view and side role over all frame
    rates, the 95th-percentile and median error of the printed value, the clips, and whether gaitlab
    prints it (within what the measure needs)."""
    doc = doc or published()
    specs = references()["metrics"]
    prov = doc.get("provenance", {})
    runs = prov.get("runs", [])
    sets = {}
    for r in runs:
        for name, n in r.get("sets", {}).items():
            sets[name] = sets.get(name, 0) + n
    head = (f"Measured by `gaitlab validate` on {prov.get('clips', 0)} clips no constant was tuned on "
            f"({', '.join(f'{k}: {v}' for k, v in sets.items())}; commit {', '.join(sorted({r.get('commit', '?')[:10] for r in runs}))}, "
            f"{', '.join(sorted({r.get('date_utc', '?')[:10] for r in runs}))}). Error = the printed value (the per-side "
            f"median over a clip's steps) minus the truth; 'printed' = the 95th percentile, over at least {MIN_CLIPS} clips, is "
            f"within what the measure needs (from behind and in front, over the left and right sides pooled) and, for a "
            f"value timed by or read at the contact, gaitlab's contacts on real clips with hand-marked contacts are within "
            f"a frame on average. In brackets, how far the 95th percentile could move with other clips of the same kind "
            f"(its 5th-95th percentiles over the clips resampled: gaitlab.validation.run.p95_interval).\n\n")
    lines = ["| measure | view | side | clips | 95 % of clips within | median error | bias | needs | printed |",
             "|---|---|---|---|---|---|---|---|---|"]
    order = {m: i for i, m in enumerate(specs)}
    from .analysis import RHYTHM_MIN_STEPS
    from .validation.run import judged_role

    # The figures that judge a value: from behind and in front the pooled one ("each side").
    figs = [f for f in doc.get("figures", []) if f["fps_band"] == "all" and f["kind"] in ("value", SHORT_CLIP)
            and f["metric"] in specs and f.get("p95_abs") is not None and judged_role(f["view"], f["role"]) == f["role"]]
    figs.sort(key=lambda f: (order[f["metric"]], f["kind"] != "value", f["view"], f["role"]))
    for f in figs:
        spec = specs[f["metric"]]
        label = spec["label"] if f["kind"] == "value" else (
            f"{spec['label']}, clip of fewer than {RHYTHM_MIN_STEPS} steps")
        d = int(spec.get("decimals", 1)) + 1
        need = needed(f["metric"])
        ok = (need is not None and f["p95_abs"] <= need and clips_measured(f) >= MIN_CLIPS
              and not contacts_off_on_real_clips(f["metric"], f["view"], doc))
        unit = f" {spec['unit']}" if spec["unit"] else ""
        lines.append(f"| {label} | {f['view']} | {ROLE_TEXT.get(f['role'], f['role'])} | {clips_measured(f)} | "
                     f"{f['p95_abs']:.{d}f}{unit}{_interval(f, d)} | {f['median_abs']:.{d}f} | {_signed(f['bias'], d)} | "
                     f"{need:g}{unit} | "
                     f"{'yes' if ok else 'no'} |")
    # A frame is 33 ms at 30 frames/s and 4 ms at 240, so "within one frame" is given per frame-rate band.
    bands = ("<50", "50-90", ">=90")
    ev = ["", "| event | view | side | contacts | missed | extra | swapped | bias (ms) | median error (ms) | "
              "within one frame at <50 / 50-90 / >=90 frames/s |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    events = [e for e in doc.get("events", []) if e.get("bias_ms") is not None]
    for e in sorted((e for e in events if e["fps_band"] == "all"), key=lambda e: (e["event"], e["view"], e["role"])):
        same = {b["fps_band"]: b for b in events if (b["event"], b["view"], b["role"]) == (e["event"], e["view"], e["role"])}
        within = " / ".join(f"{100 * same[b]['within_1_frame']:.0f} %" if b in same else "-" for b in bands)
        ev.append(f"| {e['event'].replace('_', ' ')} | {e['view']} | {ROLE_TEXT.get(e['role'], e['role'])} | {e['n_true']} | "
                  f"{e['missed']} | {e['extra']} | {e['swapped']} | {_signed(e['bias_ms'], 0)} | {e['median_abs_ms']:.0f} | "
                  f"{within} |")
    return head + "\n".join(lines + ev) + "\n"


def write_readme(path: str | Path, doc: dict | None = None) -> None:
    """Replace the accuracy table between its markers in the README at ``path``."""
    path = Path(path)
    text = path.read_text()
    start, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
    path.write_text(text[:start] + "\n" + readme_table(doc) + text[end:])


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Write gaitlab/data/accuracy.json from gaitlab validate runs.")
    ap.add_argument("runs", nargs="*", help="output folders of gaitlab validate (sets no constant was tuned on)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("data") / FILE))
    ap.add_argument("--readme", default=None, help="also rewrite the accuracy table in this README")
    a = ap.parse_args(argv)
    doc = None
    if a.runs:
        doc = publish(a.runs, a.out)
        print(f"{a.out}: {len(doc['figures'])} figures from {doc['provenance']['clips']} clips")
    if a.readme:
        write_readme(a.readme, doc)
        print(f"{a.readme}: accuracy table rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
