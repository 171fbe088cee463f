"""Per-side summary of the per-step metrics: median, spread, step count, left/right difference, the
smallest detectable difference, the reference and how sure gaitlab is of each number.

One row per metric and side (``left``, ``right``) plus a ``both`` row that carries the asymmetry.
Metric names, labels, units, references and uncertainties come from ``data/references.json``.
A metric marked there as not validated (``"validated": {"ok": false}``) is summarised as not
measurable, with the reason; its per-step values stay in the steps table for research.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .references import constant, data

SUMMARY_COLUMNS = ["metric", "label", "unit", "side", "n_steps", "median", "q1", "q3", "sd",
                   "right_minus_left", "exceeds_sdd", "sdd", "sdd_source", "uncertainty", "uncertainty_text",
                   "reference_low", "reference_high", "reference_text", "reference_source",
                   "measurable", "warning"]


def _metric_rows(name: str, spec: dict, steps: pd.DataFrame, *, measurable: bool, not_measurable_reason: str,
                 approximate: bool) -> list[dict]:
    ref = spec.get("reference", {})
    sdd = spec.get("sdd", {}).get("value")
    unc = spec.get("uncertainty", {})
    base = {"metric": name, "label": spec["label"], "unit": spec["unit"], "sdd": sdd,
            "sdd_source": spec.get("sdd", {}).get("source", ""),
            "uncertainty": unc.get("value"), "uncertainty_text": unc.get("text", ""),
            "reference_low": ref.get("low"), "reference_high": ref.get("high"),
            "reference_text": ref.get("text", ""), "reference_source": ref.get("source", ""),
            "measurable": measurable}
    min_steps = int(constant("min_steps_per_side"))
    rows, medians = [], {}
    for side in ("left", "right"):
        values = steps.loc[steps.valid & (steps.side == side), name].astype(float) if measurable else pd.Series(dtype=float)
        values = values[np.isfinite(values)]
        n = int(values.size)
        warning = not_measurable_reason if not measurable else ""
        if measurable and n < min_steps:
            warning = f"only {n} usable steps on this side (a reliable 2D average needs at least {min_steps})"
        if approximate and measurable:
            warning = (warning + "; " if warning else "") + "approximate below 60 fps (one frame is long against a contact)"
        med = float(values.median()) if n else float("nan")
        medians[side] = med
        rows.append({**base, "side": side, "n_steps": n, "median": med,
                     "q1": float(values.quantile(0.25)) if n else float("nan"),
                     "q3": float(values.quantile(0.75)) if n else float("nan"),
                     "sd": float(values.std()) if n > 1 else float("nan"),
                     "right_minus_left": float("nan"), "exceeds_sdd": False, "warning": warning})
    diff = medians["right"] - medians["left"]
    both = steps.loc[steps.valid, name].astype(float) if measurable else pd.Series(dtype=float)
    both = both[np.isfinite(both)]
    rows.append({**base, "side": "both", "n_steps": int(both.size),
                 "median": float(both.median()) if both.size else float("nan"),
                 "q1": float(both.quantile(0.25)) if both.size else float("nan"),
                 "q3": float(both.quantile(0.75)) if both.size else float("nan"),
                 "sd": float(both.std()) if both.size > 1 else float("nan"),
                 "right_minus_left": diff,
                 "exceeds_sdd": bool(sdd is not None and np.isfinite(diff) and abs(diff) > sdd),
                 "warning": "" if measurable else not_measurable_reason})
    return rows


def summarize(steps: pd.DataFrame, view: str, cadence: dict, fps: float, *, pelvis_measurable: bool = True,
              pelvis_reason: str = "") -> pd.DataFrame:
    """The summary table (columns :data:`SUMMARY_COLUMNS`) for one analysed clip."""
    specs = data()["metrics"]
    rows = []
    for name, spec in specs.items():
        if view not in spec["views"]:
            continue
        if name == "cadence_spm":
            cad_rows = _metric_rows(name, spec, steps.assign(cadence_spm=np.nan), measurable=True,
                                    not_measurable_reason="", approximate=False)
            for r in cad_rows:
                r["median"] = float(cadence.get(r["side"], float("nan")))
                r["q1"] = r["q3"] = r["sd"] = float("nan")
                r["n_steps"] = int((steps.valid & np.isfinite(steps.step_time_s)
                                    & ((steps.side == r["side"]) | (r["side"] == "both"))).sum())
                r["warning"] = ""
            cad_rows[-1]["right_minus_left"] = cad_rows[1]["median"] - cad_rows[0]["median"]
            rows += cad_rows
            continue
        if name not in steps.columns:
            continue
        pelvic = name.startswith("pelvic_drop")
        measurable = pelvis_measurable if pelvic else bool(np.isfinite(steps[name].astype(float)).any())
        reason = pelvis_reason if pelvic else "not measured (needs the runner's height)" if name.endswith("_cm") else "not measured"
        validation = spec.get("validated", {"ok": True})
        if measurable and not validation["ok"]:
            # Measured per step (steps table, for research), but not accurate enough to report.
            measurable, reason = False, f"not measurable from this video: {validation['text']}"
        rows += _metric_rows(name, spec, steps, measurable=measurable, not_measurable_reason=reason,
                             approximate=bool(spec.get("timing")) and fps < constant("timing_min_fps"))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def foot_strike_counts(steps: pd.DataFrame) -> dict:
    """{side: {'rearfoot': n, 'midfoot': n, 'forefoot': n}} over valid steps."""
    if "foot_strike" not in steps.columns:
        return {}
    out = {}
    for side in ("left", "right"):
        s = steps.loc[steps.valid & (steps.side == side), "foot_strike"]
        out[side] = {k: int((s == k).sum()) for k in ("rearfoot", "midfoot", "forefoot")}
    return out
