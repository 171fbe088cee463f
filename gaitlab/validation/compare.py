"""One clip's output against its truth, as tidy tables (no pass/fail: error figures).

* :func:`match_events`: every true event paired with gaitlab's event of the same kind and side, or
  counted as missed; gaitlab's events with no true partner counted as extra, or as a left/right swap
  when they sit on the other foot's event. Events within :data:`EDGE_STEPS` steps of the clip's
  ends are neither missed nor extra (no detector sees a whole step there).
* :func:`compare_steps`: per true step, gaitlab's value of each metric on the step it found there.
* :func:`compare_sides`: per metric and side, the value the report prints (the summary's median,
  or that it was withheld and why) against the clip's true value (median over its true steps),
  plus right minus left against the true difference, and cadence overall and per side.
* :func:`compare_short_clips`: the cadence a clip too short for the step rhythm prints (its counted
  contacts), measured on the clip cut short.

Errors are measured minus truth, in the metric's unit (events: milliseconds and frames).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..accuracy import SHORT_CLIP
from ..schema import SIDES
from .truth import STEP_METRICS, ClipTruth

#: True events closer than this many steps to either end of the clip are not scored.
EDGE_STEPS = 0.5
#: A detected event pairs with a true one within this fraction of a step.
MATCH_STEPS = 0.4
#: The event that times the steps of each view (the one the steps table is built on).
TIMING_EVENT = {"side": "initial_contact", "rear": "midstance", "front": "midstance"}
_TIME_COLUMN = {"initial_contact": "ic_time_s", "midstance": "midstance_time_s", "toe_off": "to_time_s"}


def step_time(truth: ClipTruth) -> float:
    if truth.cadence_spm:
        return 60.0 / truth.cadence_spm
    t = np.sort(truth.events.loc[truth.events.event == "initial_contact", "time_s"].to_numpy(float))
    return float(np.median(np.diff(t))) if t.size > 1 else 0.35


def _in_window(t: np.ndarray, truth: ClipTruth) -> np.ndarray:
    edge = EDGE_STEPS * step_time(truth)
    return (t >= edge) & (t <= truth.duration_s - 1.0 / truth.fps - edge)


def match_events(truth: ClipTruth, events: pd.DataFrame, event: str) -> pd.DataFrame:
    """One row per scored true event (status ``matched``, ``missed`` or ``swapped``) and per extra
    detection (``extra``): ``event``, ``side`` (the truth's, or the detection's for extras), ``role``,
    ``true_time_s``, ``time_s``, ``error_ms``, ``error_frames``, ``status``."""
    tol = MATCH_STEPS * step_time(truth)
    tr = truth.events[truth.events.event == event].reset_index(drop=True)
    det = events[events.event == event].reset_index(drop=True) if len(events) else events
    t_true, s_true = tr.time_s.to_numpy(float), tr.side.to_numpy()
    t_det = det.time_s.to_numpy(float) if len(det) else np.zeros(0)
    s_det = det.side.to_numpy() if len(det) else np.zeros(0, object)
    # Closest pairs first, same side only, each event used once.
    dt = np.abs(t_det[None, :] - t_true[:, None])
    cost = np.where((s_true[:, None] == s_det[None, :]) & (dt <= tol), dt, np.inf)
    pair_true = np.full(t_true.size, -1)
    pair_det = np.full(t_det.size, -1)
    for flat in np.argsort(cost, axis=None):
        i, j = np.unravel_index(flat, cost.shape)
        if not np.isfinite(cost[i, j]):
            break
        if pair_true[i] < 0 and pair_det[j] < 0:
            pair_true[i], pair_det[j] = j, i
    # A detection left over that sits on the other foot's true event is a left/right swap.
    swapped_true = np.zeros(t_true.size, bool)
    swapped_det = np.zeros(t_det.size, bool)
    for j in np.nonzero(pair_det < 0)[0]:
        near = np.nonzero((s_true != s_det[j]) & (np.abs(t_true - t_det[j]) <= tol))[0]
        if near.size:
            swapped_det[j] = True
            i = near[np.argmin(np.abs(t_true[near] - t_det[j]))]
            if pair_true[i] < 0:
                swapped_true[i] = True
    rows = []
    scored = _in_window(t_true, truth)
    for i in np.nonzero(scored)[0]:
        j = pair_true[i]
        t = t_det[j] if j >= 0 else np.nan
        status = "matched" if j >= 0 else "swapped" if swapped_true[i] else "missed"
        rows.append({"event": event, "side": s_true[i], "role": truth.role(s_true[i]), "true_time_s": t_true[i],
                     "time_s": t, "error_ms": 1000 * (t - t_true[i]), "error_frames": (t - t_true[i]) * truth.fps,
                     "status": status})
    if event in truth.complete_events:
        for j in np.nonzero((pair_det < 0) & ~swapped_det & _in_window(t_det, truth))[0]:
            rows.append({"event": event, "side": s_det[j], "role": truth.role(s_det[j]), "true_time_s": np.nan,
                         "time_s": t_det[j], "error_ms": np.nan, "error_frames": np.nan, "status": "extra"})
    else:  # a partly marked event: only the marked ones are scored
        rows = [r for r in rows if r["status"] == "matched"]
    return pd.DataFrame(rows, columns=["event", "side", "role", "true_time_s", "time_s", "error_ms",
                                       "error_frames", "status"])


def compare_steps(truth: ClipTruth, result, view: str) -> pd.DataFrame:
    """Per scored true step and metric: gaitlab's value on the step it found at that time."""
    timing = TIMING_EVENT[view]
    col = _TIME_COLUMN[timing]
    tol = MATCH_STEPS * step_time(truth)
    steps = result.steps
    rows = []
    tsteps = truth.steps[_in_window(truth.steps[col].to_numpy(float), truth)]
    for _, ts in tsteps.iterrows():
        mine = steps[(steps.side == ts.side)]
        if mine.empty or not np.isfinite(ts[col]):
            continue
        d = (mine[col] - ts[col]).abs()
        k = d.idxmin()
        if not d[k] <= tol:
            continue
        found = mine.loc[k]
        for metric in STEP_METRICS:
            true_value = ts[metric]
            if metric not in steps.columns or not np.isfinite(true_value):
                continue
            value = pd.to_numeric(pd.Series([found[metric]]), errors="coerce").iloc[0]
            rows.append({"side": ts.side, "role": truth.role(ts.side), "metric": metric, "step": int(found.step),
                         "valid": bool(found.valid), "reason": found.reason, "measured": value,
                         "truth": float(true_value), "error": value - float(true_value)})
    return pd.DataFrame(rows, columns=["side", "role", "metric", "step", "valid", "reason", "measured", "truth", "error"])


def true_side_values(truth: ClipTruth) -> dict:
    """{metric: {side: true value}}: medians over the clip's true steps, and cadence per side."""
    out: dict = {}
    st = truth.steps
    for metric in STEP_METRICS:
        for side in SIDES:
            v = st.loc[st.side == side, metric].to_numpy(float)
            v = v[np.isfinite(v)]
            if v.size:
                out.setdefault(metric, {})[side] = float(np.median(v))
    ic = truth.events[truth.events.event == "initial_contact"].sort_values("time_s")
    cad = {"both": truth.cadence_spm}
    if truth.source != "hand-marked":
        cad.update({s: truth.cadence_spm for s in SIDES})
    elif len(ic) > 2:
        t, side = ic.time_s.to_numpy(float), ic.side.to_numpy()
        dt = np.diff(t)
        ok = side[1:] != side[:-1]
        for s in SIDES:
            sel = ok & (side[1:] == s)
            if sel.any():
                cad[s] = 60.0 / float(np.mean(dt[sel]))
    out["cadence_spm"] = {k: v for k, v in cad.items() if v}
    return out


def measured_side_values(result, metric: str) -> dict:
    """{side: value} of a metric as the summary computes it (median over the side's valid steps),
    whether or not the summary prints it, and ``both`` = right minus left."""
    steps = result.steps
    out = {}
    if metric == "cadence_spm":
        out = {k: float(result.cadence.get(k, np.nan)) for k in (*SIDES, "both")}
        out["right_minus_left"] = out["right"] - out["left"]
        return out
    if metric not in steps.columns:
        return {}
    for side in SIDES:
        v = pd.to_numeric(steps.loc[steps.valid & (steps.side == side), metric], errors="coerce").to_numpy(float)
        v = v[np.isfinite(v)]
        out[side] = float(np.median(v)) if v.size else np.nan
    out["right_minus_left"] = out["right"] - out["left"]
    return out


#: Columns of the sides table (:func:`compare_sides`, :func:`compare_short_clips`).
SIDE_COLUMNS = ["metric", "side", "role", "kind", "measured", "truth", "error", "n_steps", "shown", "withheld"]


def _side_row(metric: str, side: str, role: str, kind: str, value: float, true_value: float, n_steps: int,
              shown: bool, warning) -> dict:
    """One row of the sides table (:data:`SIDE_COLUMNS`)."""
    return {"metric": metric, "side": side, "role": role, "kind": kind, "measured": value,
            "truth": float(true_value), "error": value - float(true_value), "n_steps": int(n_steps),
            "shown": shown, "withheld": "" if shown else str(warning or "not measured")}


def compare_sides(truth: ClipTruth, result) -> pd.DataFrame:
    """Per metric and side (and right minus left): the clip's value against the truth. ``measured``
    is the value whether or not the summary prints it (``shown``; ``withheld`` says why not), so the
    accuracy of a withheld measure is known too."""
    true = true_side_values(truth)
    summary = result.summary
    rows = []
    for metric, sides in true.items():
        srows = summary[summary.metric == metric]
        measured = measured_side_values(result, metric)
        if srows.empty or not measured:
            continue
        keys = [(s, "value") for s in SIDES] + [("both", "right_minus_left")]
        if metric == "cadence_spm":
            keys.append(("both", "value"))
        for side, kind in keys:
            if kind == "right_minus_left":
                tv = sides.get("right", np.nan) - sides.get("left", np.nan)
                value = measured["right_minus_left"]
                r = srows[srows.side == "both"]
            else:
                tv = sides.get(side, np.nan)
                value = measured.get(side, np.nan)
                r = srows[srows.side == side]
            if not np.isfinite(tv) or r.empty:
                continue
            r = r.iloc[0]
            shown = bool(r.measurable) and np.isfinite(value)
            warning = r.warning
            if kind == "right_minus_left":
                # A difference is printed only where the summary gives one (both sides printed); where
                # it does not, the reason is a withheld side's.
                shown = shown and np.isfinite(pd.to_numeric(r.right_minus_left, errors="coerce"))
                withheld = srows[srows.side.isin(SIDES) & ~srows.measurable.astype(bool)]
                if not shown and not withheld.empty:
                    warning = withheld.warning.iloc[0]
            rows.append(_side_row(metric, side, truth.role(side) if side != "both" else "both", kind, value, tv,
                                  r.n_steps, shown, warning))
    return pd.DataFrame(rows, columns=SIDE_COLUMNS)


#: Lengths, in steps, a clip is cut to for :func:`compare_short_clips`: below
#: :data:`gaitlab.analysis.RHYTHM_MIN_STEPS`, where :func:`gaitlab.analysis.short_clip_cadence` is
#: the cadence shown.
SHORT_CLIP_STEPS = (6, 7, 8, 9)


def compare_short_clips(truth: ClipTruth, result, analyse) -> pd.DataFrame:
    """The overall cadence that clips of :data:`SHORT_CLIP_STEPS` steps print
    (:func:`gaitlab.analysis.short_clip_cadence`, since they are too short for the step rhythm
    alone), against the true cadence: the clip's
    landmarks cut to that many steps from its start (at gaitlab's own rhythm) and analysed again by
    ``analyse`` (landmarks -> result; it raises GaitlabError where gaitlab refuses the short clip,
    which gives no row). Rows as :func:`compare_sides`, ``kind`` :data:`SHORT_CLIP`."""
    from ..errors import GaitlabError

    if not truth.cadence_spm:
        return pd.DataFrame(columns=SIDE_COLUMNS)
    lm = result.landmarks
    step_s = 60.0 / float(result.quality["cadence_check"]["rhythm_spm"])
    rows = []
    for n_steps in SHORT_CLIP_STEPS:
        last = int(np.searchsorted(lm.time, lm.time[0] + n_steps * step_s))
        if last >= lm.n_frames:
            continue
        try:
            short = analyse(lm.select(slice(0, last)))
        except GaitlabError:
            continue
        if short.quality["cadence_check"]["rhythm_shown"]:
            continue
        r = short.summary[(short.summary.metric == "cadence_spm") & (short.summary.side == "both")].iloc[0]
        value = float(short.cadence["both"])
        rows.append(_side_row("cadence_spm", "both", "both", SHORT_CLIP, value, truth.cadence_spm, r.n_steps,
                              bool(r.measurable), r.warning))
    return pd.DataFrame(rows, columns=SIDE_COLUMNS)
