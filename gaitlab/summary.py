"""Per-side summary of the per-step metrics: median, spread, step count, left/right difference, the
smallest detectable difference, the reference and how sure gaitlab is of each number.

One row per metric and side (``left``, ``right``) plus a ``both`` row that carries the asymmetry.
Metric names, labels, units and references come from ``data/references.json``; how accurate each
value is comes from ``data/accuracy.json`` (:mod:`gaitlab.accuracy`, measured by ``gaitlab validate``
per view, side role and frame rate).

A value is printed (``measurable``) only where it was measured in this clip **and** its measured
95th-percentile error for this view, side role (the near or far leg in a side view) and frame rate
is within what the metric needs (``accuracy_needed``); otherwise ``warning`` says why in one
sentence. The per-step values stay in the steps table for research either way. Right minus left is
flagged (``exceeds_sdd``) only when both sides are printed and the difference exceeds both the
smallest detectable difference and the measured error of a right-minus-left difference
(``asymmetry_limit``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import accuracy
from .references import constant, data

SUMMARY_COLUMNS = ["metric", "label", "unit", "side", "role", "n_steps", "median", "q1", "q3", "sd",
                   "right_minus_left", "exceeds_sdd", "sdd", "sdd_source", "asymmetry_error", "asymmetry_limit", "uncertainty", "uncertainty_text",
                   "reference_low", "reference_high", "reference_text", "reference_source",
                   "measurable", "warning"]


def asymmetry_limit(sdd: float | None, asymmetry_error: float) -> float:
    """The right-minus-left difference beyond which the sides probably differ: more than the
    smallest detectable difference (where published) and more than gaitlab's measured error of a
    right-minus-left difference (95th percentile); infinite where that error was not measured."""
    if not np.isfinite(asymmetry_error):
        return float("inf")
    return max(float(sdd) if sdd is not None and np.isfinite(sdd) else 0.0, float(asymmetry_error))


def _role(view: str, side: str, near_side: str | None) -> str:
    if side == "both":
        return "both"
    if view == "side":
        return "near" if side == near_side else "far"
    return side


def _stats(values: pd.Series) -> dict:
    n = int(values.size)
    return {"n_steps": n, "median": float(values.median()) if n else float("nan"),
            "q1": float(values.quantile(0.25)) if n else float("nan"),
            "q3": float(values.quantile(0.75)) if n else float("nan"),
            "sd": float(values.std()) if n > 1 else float("nan")}


def _withheld_reason(name: str, side: str, role: str, why: str) -> str:
    """One sentence: why a side's value is not printed (the far leg: and how to measure it)."""
    if role == "far":
        return f"not printed for the {side} leg, the one further from the camera: {why}; film the {side} side to measure it"
    return f"not printed: {why}"


def _metric_rows(name: str, spec: dict, steps: pd.DataFrame, *, view: str, fps: float, near_side: str | None,
                 measured: bool, not_measured_reason: str) -> list[dict]:
    ref = spec.get("reference", {})
    sdd = spec.get("sdd", {}).get("value")
    base = {"metric": name, "label": spec["label"], "unit": spec["unit"], "sdd": sdd,
            "sdd_source": spec.get("sdd", {}).get("source", ""),
            "reference_low": ref.get("low"), "reference_high": ref.get("high"),
            "reference_text": ref.get("text", ""), "reference_source": ref.get("source", "")}
    min_steps = int(constant("min_steps_per_side"))
    timing_low_fps = bool(spec.get("timing")) and fps < constant("timing_min_fps")
    rows, printed, whys = [], {}, {}
    for side in ("left", "right"):
        role = _role(view, side, near_side)
        values = pd.to_numeric(steps.loc[steps.valid & (steps.side == side), name], errors="coerce") if measured \
            else pd.Series(dtype=float)
        values = values[np.isfinite(values)]
        shown, fig, why = accuracy.verdict(name, view, role, fps)
        stats = _stats(values)
        whys[side] = why if measured and stats["n_steps"] else ""  # withheld for its accuracy
        warning = ""
        if not measured or not stats["n_steps"]:
            shown, warning = False, not_measured_reason or "not measured in this clip"
        elif not shown:
            warning = _withheld_reason(name, side, role, why)
        else:
            if stats["n_steps"] < min_steps:
                warning = (f"only {stats['n_steps']} usable steps on this side (a reliable 2D average needs at "
                           f"least {min_steps})")
            if timing_low_fps:
                warning = (warning + "; " if warning else "") + "approximate below 60 fps (one frame is long against a contact)"
        printed[side] = shown
        if not shown:
            stats.update(median=float("nan"), q1=float("nan"), q3=float("nan"), sd=float("nan"))
        rows.append({**base, **stats, "side": side, "role": role, "right_minus_left": float("nan"),
                     "exceeds_sdd": False, "asymmetry_error": float("nan"), "asymmetry_limit": float("nan"),
                     "uncertainty": accuracy.rounded(fig, name), "uncertainty_text": accuracy.describe(fig, name),
                     "measurable": shown, "warning": warning})
    if not any(printed.values()) and measured:
        # Neither side printed: one sentence for the measure, the reason of the side whose measured
        # error is larger (so that its "up to" holds for both), without the far side's advice to film
        # that side (it would not be printed from there either).
        withheld = [r for r in rows if whys[r["side"]]]
        if withheld:
            worst = max(withheld, key=lambda r: r["uncertainty"] if np.isfinite(r["uncertainty"]) else -np.inf)
            reason = _withheld_reason(name, worst["side"], "both", whys[worst["side"]])
        else:
            reason = rows[0]["warning"]
        for r in rows:
            r["warning"] = reason
    diff = rows[1]["median"] - rows[0]["median"]
    _, asym_fig, _ = accuracy.verdict(name, view, "both", fps, kind="right_minus_left")
    asym_error = asym_fig["p95_abs"] if asym_fig else float("nan")
    both_shown = all(printed.values())
    any_shown = [s for s, ok in printed.items() if ok]
    pooled = pd.to_numeric(steps.loc[steps.valid & steps.side.isin(any_shown), name], errors="coerce") if measured \
        else pd.Series(dtype=float)
    pooled = pooled[np.isfinite(pooled)]
    limit = asymmetry_limit(sdd, asym_error)
    rows.append({**base, **_stats(pooled), "side": "both", "role": "both",
                 "right_minus_left": diff if both_shown else float("nan"),
                 "exceeds_sdd": bool(both_shown and np.isfinite(diff) and abs(diff) > limit),
                 "asymmetry_error": asym_error, "asymmetry_limit": limit, "uncertainty": float("nan"),
                 "uncertainty_text": "",
                 "measurable": bool(any_shown),
                 "warning": "" if any_shown else (rows[0]["warning"] or rows[1]["warning"])})
    return rows


def _cadence_rows(spec: dict, steps: pd.DataFrame, cadence: dict, *, view: str, fps: float,
                  near_side: str | None, short_clip: bool = False, clip_steps: float = float("inf")) -> list[dict]:
    from .validation.compare import SHORT_CLIP_STEPS

    rows = _metric_rows("cadence_spm", spec, steps.assign(cadence_spm=np.nan), view=view, fps=fps,
                        near_side=near_side, measured=True, not_measured_reason="")
    for r in rows:
        side = r["side"]
        # Overall, a clip too short for the step rhythm alone is judged by what clips cut that short
        # measured (gaitlab.validation.compare.compare_short_clips).
        kind = accuracy.SHORT_CLIP if short_clip and side == "both" else "value"
        shown, fig, why = accuracy.verdict("cadence_spm", view, r["role"], fps, kind)
        value = float(cadence.get(side, float("nan")))
        if side == "both" and clip_steps < SHORT_CLIP_STEPS[0] - 0.5:  # the clip rounded to whole steps
            shown, warning = False, (f"not printed: the clip lasts only {clip_steps:.0f} steps, fewer than the "
                                     f"{SHORT_CLIP_STEPS[0]} of the shortest clips gaitlab's cadence was checked on: "
                                     f"film at least 10 seconds of steady running")
        elif shown or not np.isfinite(value):
            warning = ""
        elif kind == accuracy.SHORT_CLIP:
            warning = (f"not printed: the clip is too short for the step rhythm, so the cadence would come from "
                       f"a few steps, and in clips that short {why.replace(' here was', ' was')}: "
                       f"film at least 10 seconds of steady running")
        else:
            warning = _withheld_reason("cadence_spm", side, r["role"], why)
        r.update(median=value if shown else float("nan"), q1=float("nan"), q3=float("nan"), sd=float("nan"),
                 n_steps=int((steps.valid & np.isfinite(steps.step_time_s)
                              & ((steps.side == side) | (side == "both"))).sum()),
                 measurable=bool(shown and np.isfinite(value)),
                 uncertainty=accuracy.rounded(fig, "cadence_spm"),
                 uncertainty_text=accuracy.describe(fig, "cadence_spm"), warning=warning)
    left, right, both = rows
    diff = right["median"] - left["median"]
    both["right_minus_left"] = diff if left["measurable"] and right["measurable"] else float("nan")
    both["asymmetry_limit"] = limit = asymmetry_limit(both["sdd"], both["asymmetry_error"])
    both["exceeds_sdd"] = bool(np.isfinite(both["right_minus_left"]) and abs(both["right_minus_left"]) > limit)
    return rows


def summarize(steps: pd.DataFrame, view: str, cadence: dict, fps: float, *, near_side: str | None = None,
              pelvis_measurable: bool = True, pelvis_reason: str = "",
              not_measured: dict[str, str] | None = None, short_clip: bool = False,
              clip_steps: float = float("inf")) -> pd.DataFrame:
    """The summary table (columns :data:`SUMMARY_COLUMNS`) for one analysed clip.

    ``view``: side, rear or front; ``near_side``: in a side view, the runner's side nearer the camera.
    ``pelvis_measurable``/``pelvis_reason``: whether this clip's pelvis line was tracked well enough
    for pelvic drop, and if not, why (one sentence).
    ``not_measured``: {metric: one sentence} saying why a metric has no value on a side in this clip
    (for example the knee angles where the shank's edges were not found).
    ``short_clip``: the clip is too short for the step rhythm alone, so its overall cadence
    (:func:`gaitlab.analysis.short_clip_cadence`) is judged by the figure for such clips; ``clip_steps``,
    how many steps the clip lasts: one shorter than the shortest clips that figure was measured on
    (:data:`gaitlab.validation.compare.SHORT_CLIP_STEPS`) has its cadence withheld.
    """
    specs = data()["metrics"]
    rows = []
    for name, spec in specs.items():
        if view not in spec["views"]:
            continue
        if name == "cadence_spm":
            rows += _cadence_rows(spec, steps, cadence, view=view, fps=fps, near_side=near_side,
                                  short_clip=short_clip, clip_steps=clip_steps)
            continue
        if name not in steps.columns:
            continue
        pelvic = name.startswith("pelvic_drop")
        if pelvic:
            measured, reason = pelvis_measurable, pelvis_reason
        else:
            measured = bool(np.isfinite(pd.to_numeric(steps[name], errors="coerce")).any())
            reason = "not measured (needs the runner's height)" if name.endswith("_cm") and not measured else ""
            reason = (not_measured or {}).get(name) or reason
        rows += _metric_rows(name, spec, steps, view=view, fps=fps, near_side=near_side, measured=measured,
                             not_measured_reason=reason)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def withhold_sides(summary: pd.DataFrame, reason: str) -> pd.DataFrame:
    """The summary with every per-side value withheld for ``reason`` (one sentence) and no
    right-minus-left difference; values of both sides together are kept."""
    out = summary.copy()
    side = out.side.isin(["left", "right"])
    out.loc[side & out.measurable, "warning"] = reason
    out.loc[side, ["median", "q1", "q3", "sd"]] = np.nan
    out.loc[side, "measurable"] = False
    out.loc[~side, "right_minus_left"] = np.nan
    out.loc[~side, "exceeds_sdd"] = False
    return out


def foot_strike_counts(steps: pd.DataFrame) -> dict:
    """{side: {'rearfoot': n, 'midfoot': n, 'forefoot': n}} over valid steps."""
    if "foot_strike" not in steps.columns:
        return {}
    out = {}
    for side in ("left", "right"):
        s = steps.loc[steps.valid & (steps.side == side), "foot_strike"]
        out[side] = {k: int((s == k).sum()) for k in ("rearfoot", "midfoot", "forefoot")}
    return out


def printed(summary: pd.DataFrame, metric: str, side: str | None = None) -> bool:
    """Whether the summary prints ``metric`` (on ``side``, or on either side)."""
    rows = summary[(summary.metric == metric) & (summary.side.isin(("left", "right")) if side is None
                                                 else summary.side == side)]
    return bool(rows.measurable.astype(bool).any())


def printable_steps(steps: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The steps table with each metric emptied (NaN) on the sides the summary does not print, so
    what a report draws from single steps (key frames, plots, the overlay) never shows a value the
    summary withholds."""
    out = steps.copy()
    for r in summary[summary.side.isin(("left", "right"))].itertuples():
        if r.metric in out.columns and not bool(r.measurable) and r.metric != "cadence_spm":
            out[r.metric] = out[r.metric].astype(float)
            out.loc[out.side == r.side, r.metric] = np.nan
            if r.metric == "foot_angle_ic_deg" and "foot_strike" in out.columns:
                out.loc[out.side == r.side, "foot_strike"] = ""  # the class is read off the angle
    return out
