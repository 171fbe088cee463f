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
side role and frame rate is within what it needs; otherwise the summary withholds it and says why.
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
#: A figure for one frame-rate band needs at least this many clips; otherwise the all-rates figure is used.
MIN_CLIPS_PER_BAND = 4


def fps_band(fps: float) -> str:
    """The frame-rate band a clip's figures come from."""
    return "<50" if fps < 50 else "50-90" if fps < 90 else ">=90"


@lru_cache(maxsize=None)
def published() -> dict:
    """The contents of ``data/accuracy.json`` (empty figures when it has none)."""
    try:
        text = resources.files("gaitlab").joinpath("data", FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"provenance": {}, "figures": [], "events": []}
    return json.loads(text)


def figure(metric: str, view: str, role: str, fps: float, kind: str = "value") -> dict | None:
    """The measured error of a printed value: the figure for this frame-rate band when enough clips
    had one, else the figure over all rates; None when gaitlab was not validated there."""
    rows = [f for f in published()["figures"]
            if f["metric"] == metric and f["view"] == view and f["role"] == role and f["kind"] == kind]
    band = [f for f in rows if f["fps_band"] == fps_band(fps) and f["n_measured"] >= MIN_CLIPS_PER_BAND]
    if band:
        return band[0]
    overall = [f for f in rows if f["fps_band"] == "all" and f["n_measured"] >= MIN_CLIPS_PER_BAND]
    return overall[0] if overall else None


def needed(metric: str) -> float | None:
    """The error a metric can have and still be useful (``accuracy_needed`` in references.json)."""
    spec = references()["metrics"].get(metric, {}).get("accuracy_needed")
    return float(spec["value"]) if spec else None


def verdict(metric: str, view: str, role: str, fps: float, kind: str = "value") -> tuple[bool, dict | None, str]:
    """(shown, figure, reason withheld): shown only where the measured 95th-percentile error is
    within what the metric needs."""
    fig = figure(metric, view, role, fps, kind)
    need = needed(metric)
    if fig is None:
        return False, None, "not validated for this view and side"
    if need is not None and not fig["p95_abs"] <= need:
        return False, fig, (f"95 % of validation clips within {fig['p95_abs']:.{_decimals(metric)}f}, more than the "
                            f"{need:g} this measure needs")
    return True, fig, ""


def _decimals(metric: str) -> int:
    return int(references()["metrics"].get(metric, {}).get("decimals", 1)) + 1


def describe(fig: dict | None, metric: str) -> str:
    """The figure in words, for the report's typical-error column."""
    if fig is None:
        return "not validated"
    unit = references()["metrics"].get(metric, {}).get("unit", "")
    d = _decimals(metric)
    return (f"95 % of {fig['n_measured']} validation clips within {fig['p95_abs']:.{d}f} {unit} "
            f"(median {fig['median_abs']:.{d}f}, bias {fig['bias']:+.{d}f})").replace("  ", " ")


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
    timing = event_table(pd.concat(events, ignore_index=True), clips_df)

    def records(df):
        df = df.replace({np.nan: None})
        return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in df.to_dict("records")]

    doc = {"_about": "Error figures of every value gaitlab prints, measured by gaitlab validate on truth sets no "
                     "constant was tuned on. Written by `python -m gaitlab.accuracy RUN...`; read through "
                     "gaitlab.accuracy.",
           "provenance": {"runs": provenance, "clips": int(len(clips_df)), "refused": int(clips_df.refused.sum())},
           "figures": records(metrics), "events": records(timing)}
    if out is not None:
        Path(out).write_text(json.dumps(doc, indent=1) + "\n")
    published.cache_clear()
    return doc


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Write gaitlab/data/accuracy.json from gaitlab validate runs.")
    ap.add_argument("runs", nargs="+", help="output folders of gaitlab validate (held-out sets only)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("data") / FILE))
    a = ap.parse_args(argv)
    doc = publish(a.runs, a.out)
    print(f"{a.out}: {len(doc['figures'])} figures from {doc['provenance']['clips']} clips")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
