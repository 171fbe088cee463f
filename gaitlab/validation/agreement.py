"""Comparing gaitlab's output with ground truth (synthetic truth files, measured real-clip truth).

Used by the test suite, the validation notebook and ``gaitlab validate``; every function returns
plain numbers so error figures can be reported, not just pass/fail.
"""

from __future__ import annotations

import numpy as np

from ..landmarks import Landmarks
from ..schema import KEYPOINT_INDEX, SIDES

#: Truth point name -> BlazePose keypoint name.
TRUTH_TO_BLAZEPOSE = {
    "shoulder": "shoulder", "elbow": "elbow", "wrist": "wrist", "hip": "hip", "knee": "knee",
    "ankle": "ankle", "heel": "heel", "toe": "foot_index",
}
LEG_POINTS = ("knee", "ankle", "heel", "toe")
#: A frame's legs count as swapped only when the swapped labelling fits better by this many leg
#: lengths (summed over knee, ankle, heel and toe); crossing legs are ambiguous, not swapped.
SWAP_MARGIN_LEG = 0.1


def leg_length_px(truth: dict) -> float:
    """The runner's leg length in pixels at the runner's distance from the camera."""
    cam = truth["camera"]
    depth = float(np.linalg.norm(np.subtract(cam["target_m"], cam["position_m"])))
    return truth["body"]["leg_length_m"] * cam["focal_px"] / depth


def truth_points(truth: dict, part: str, side: str) -> np.ndarray:
    return np.asarray(truth["frames"]["joints_2d"][f"{side}_{part}"], float)


def landmark_agreement(lm: Landmarks, truth: dict) -> dict:
    """Detection rate, left/right correctness and landmark error of landmarks against a truth file.

    Returns ``detected_fraction``, ``lr_correct_fraction`` (frames whose leg labels are not
    swapped, among detected frames), ``median_error_leg`` (median over frames and the points in
    :data:`TRUTH_TO_BLAZEPOSE`, in leg lengths), ``p90_error_leg`` and ``median_error_leg_by_point``.
    """
    n = truth["video"]["n_frames"]
    if lm.n_frames != n:
        raise ValueError(f"landmarks have {lm.n_frames} frames, truth {n}")
    scale = leg_length_px(truth)
    det = lm.detected

    def pred(part, side):
        return lm.image[:, KEYPOINT_INDEX[f"{side}_{TRUTH_TO_BLAZEPOSE[part]}"], :2].astype(float)

    same = np.zeros(n)
    swapped = np.zeros(n)
    for part in LEG_POINTS:
        tl, tr = truth_points(truth, part, "left"), truth_points(truth, part, "right")
        pl, pr = pred(part, "left"), pred(part, "right")
        same += np.linalg.norm(pl - tl, axis=1) + np.linalg.norm(pr - tr, axis=1)
        swapped += np.linalg.norm(pl - tr, axis=1) + np.linalg.norm(pr - tl, axis=1)
    is_swapped = (swapped < same - SWAP_MARGIN_LEG * scale) & det
    errors = {}
    for part in TRUTH_TO_BLAZEPOSE:
        e = np.concatenate([np.linalg.norm(pred(part, s) - truth_points(truth, part, s), axis=1)[det]
                            for s in SIDES]) / scale
        errors[part] = float(np.median(e)) if e.size else float("nan")
    all_err = np.concatenate([
        np.linalg.norm(pred(part, s) - truth_points(truth, part, s), axis=1)[det] / scale
        for part in TRUTH_TO_BLAZEPOSE for s in SIDES])
    return {
        "frames": n,
        "detected_fraction": float(det.mean()),
        "lr_correct_fraction": float(1 - is_swapped.sum() / max(det.sum(), 1)),
        "median_error_leg": float(np.median(all_err)) if all_err.size else float("nan"),
        "p90_error_leg": float(np.percentile(all_err, 90)) if all_err.size else float("nan"),
        "median_error_leg_by_point": errors,
        "leg_length_px": scale,
    }


def match_steps(steps, truth: dict, tolerance_s: float | None = None):
    """Pair measured steps with truth steps of the same side by nearest initial-contact time.

    Returns a DataFrame: one row per measured step that has a truth step within ``tolerance_s``
    (default: a quarter of the true step time), with the measured columns and the truth columns
    prefixed ``true_``, plus ``ic_error_frames``.
    """
    import pandas as pd

    true_steps = pd.DataFrame(truth["steps"])
    if tolerance_s is None:
        tolerance_s = 0.25 * truth["summary"]["step_time_s"]
    rows = []
    for _, s in steps.iterrows():
        cand = true_steps[true_steps.side == s["side"]]
        if cand.empty:
            continue
        dt = (cand.ic_time_s - s["ic_time_s"]).abs()
        j = dt.idxmin()
        if dt[j] > tolerance_s:
            continue
        row = s.to_dict()
        row.update({f"true_{k}": v for k, v in cand.loc[j].items()})
        row["ic_error_frames"] = int(s["ic_frame"]) - int(cand.loc[j, "ic_frame"])
        if s["to_frame"] >= 0:
            row["to_error_frames"] = int(s["to_frame"]) - int(cand.loc[j, "to_frame"])
        rows.append(row)
    return pd.DataFrame(rows)


#: Metrics whose per-step truth the synthetic truth files carry under the same name.
VALIDATED_METRICS = ("overstride_cm", "shank_angle_deg", "knee_flexion_ic_deg", "peak_knee_flexion_deg",
                     "foot_angle_ic_deg", "vertical_oscillation_cm", "contact_time_s", "pelvic_drop_deg",
                     "pelvic_drop_peak_deg", "knee_fppa_deg", "hip_adduction_deg")
#: Metrics gaitlab reads at the exact (sub-frame) event time, judged against the truth at that time
#: rather than at the nearest frame.
EXACT_TRUTH = {"shank_angle_deg": "shank_angle_deg_exact"}


def metric_errors(result, truth: dict):
    """Per metric and side, gaitlab's median over matched steps against the truth's median.

    Returns a DataFrame: ``metric``, ``side``, ``n_steps``, ``measured``, ``truth``, ``error``
    (measured - truth), with cadence (steps/min, both sides) first.
    """
    import pandas as pd

    rows = [{"metric": "cadence_spm", "side": "both", "n_steps": int(result.valid_steps.shape[0]),
             "measured": float(result.cadence["both"]), "truth": float(truth["summary"]["cadence_spm"])}]
    matched = match_steps(result.valid_steps, truth)
    for metric in VALIDATED_METRICS:
        true_col = f"true_{EXACT_TRUTH.get(metric, metric)}"
        if true_col not in matched.columns:
            true_col = f"true_{metric}"
        if metric not in matched.columns or true_col not in matched.columns:
            continue
        for side in SIDES:
            m = matched[matched.side == side]
            measured = m[metric].astype(float)
            if not np.isfinite(measured).any():
                continue
            rows.append({"metric": metric, "side": side, "n_steps": int(np.isfinite(measured).sum()),
                         "measured": float(np.nanmedian(measured)), "truth": float(m[true_col].median())})
    out = pd.DataFrame(rows)
    out["error"] = out.measured - out.truth
    return out
