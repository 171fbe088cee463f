"""Report figures (matplotlib, no display needed): per-step values over the clip, and joint-angle
curves over the gait cycle per side. Each function returns PNG bytes."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ..references import data as reference_data
from ..summary import printed

SIDE_COLOURS = {"left": "#1f8ceb", "right": "#fa7828"}
#: Metrics plotted step by step, per view.
PER_STEP = {"side": ("cadence_spm", "overstride_cm", "overstride_leg", "shank_angle_deg", "knee_flexion_ic_deg"),
            "rear": ("pelvic_drop_peak_deg", "knee_fppa_deg", "hip_adduction_deg"),
            "front": ("pelvic_drop_peak_deg", "knee_fppa_deg", "hip_adduction_deg")}
#: Points of the gait cycle (0-100 % from one initial contact to the next of the same foot).
CYCLE_POINTS = 101


def _figure(n: int, width: float = 7.5, height: float = 1.35, cols: int = 2):
    """A grid of ``n`` panels, ``cols`` side by side (compact enough for a printed page)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    total = height * rows + 0.45
    fig, axes = plt.subplots(rows, cols, figsize=(width, total), sharex=True, squeeze=False)
    # Fixed margins (inches) for the small titles, tick labels and axis labels: matplotlib's
    # constrained layout measured every label and took half of the report's plotting time.
    fig.subplots_adjust(left=0.55 / width, right=1 - 0.12 / width, top=1 - 0.28 / total, bottom=0.45 / total,
                        hspace=0.5 / (height - 0.5), wspace=0.22)
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    for ax in flat[max(n - cols, 0):n]:
        ax.xaxis.set_tick_params(labelbottom=True)
    return fig, flat[:n], plt


def _png(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def per_step_plot(steps: pd.DataFrame, view: str, summary: pd.DataFrame | None = None) -> bytes | None:
    """Each metric against time, one dot per valid step and side, with each side's median: shows
    consistency, and drift over the clip (fatigue). ``steps`` should hold only printed values
    (:func:`gaitlab.summary.printable_steps`); the step rate, read off the step times, is drawn on
    the sides whose cadence ``summary`` prints (every side without a summary)."""
    specs = reference_data()["metrics"]
    valid = steps[steps.valid].copy()
    if "step_time_s" in valid.columns:
        rate_shown = {side: summary is None or printed(summary, "cadence_spm", side) for side in SIDE_COLOURS}
        valid["cadence_spm"] = np.where(valid.side.map(rate_shown).astype(bool),
                                        60.0 / valid["step_time_s"].astype(float), np.nan)
    metrics = [m for m in PER_STEP.get(view, ()) if m in valid.columns and np.isfinite(valid[m].astype(float)).any()]
    if "overstride_cm" in metrics and "overstride_leg" in metrics:
        metrics.remove("overstride_leg")  # the same measure, shown once (in cm)
    if not metrics:
        return None
    fig, axes, plt = _figure(len(metrics))
    t_col = "ic_time_s" if view == "side" else "midstance_time_s"
    for ax, metric in zip(axes, metrics):
        for side, colour in SIDE_COLOURS.items():
            s = valid[valid.side == side]
            v = s[metric].astype(float)
            ax.plot(s[t_col], v, "o", color=colour, ms=4, label=side)
            if np.isfinite(v).any():
                ax.axhline(float(np.nanmedian(v)), color=colour, lw=1, alpha=0.6)
        spec = specs.get(metric, {"label": "Step rate", "unit": "steps/min"})
        label = "Step rate (from step time)" if metric == "cadence_spm" else spec["label"]
        ax.set_ylabel(f"{spec['unit']}", fontsize=8)
        ax.set_title(label, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper right", ncol=2)
    for ax in axes[-min(2, len(axes)):]:
        ax.set_xlabel("time in clip (s)", fontsize=8)
    return _png(fig, plt)


def cycle_curves(signal: np.ndarray, steps: pd.DataFrame, side: str) -> np.ndarray:
    """(N, CYCLE_POINTS) the signal over each complete stride of ``side`` (initial contact to the
    next initial contact of the same foot, valid steps), resampled to 0-100 %."""
    s = steps[(steps.side == side) & steps.valid].sort_values("ic_frame")
    starts = s.ic_frame.to_numpy(int)
    if starts.size < 2:
        return np.zeros((0, CYCLE_POINTS))
    a, b = starts[:-1], starts[1:]
    keep = (b - a) > 3
    a, b = a[keep], b[keep]
    u = np.linspace(0.0, 1.0, CYCLE_POINTS)
    pos = a[:, None] + u[None, :] * (b - a)[:, None]
    idx = np.arange(signal.size)
    return np.interp(pos, idx, signal)


def cycle_plot(curves: dict[str, dict[str, np.ndarray]], stance_end: dict[str, float]) -> bytes | None:
    """Mean +/- SD of each signal over the gait cycle, left and right overlaid.

    ``curves``: {signal label: {side: (N, CYCLE_POINTS) array}}; ``stance_end``: mean toe-off per
    side, in % of the cycle (drawn as a dashed line)."""
    labels = [k for k, v in curves.items() if any(a.shape[0] for a in v.values())]
    if not labels:
        return None
    fig, axes, plt = _figure(len(labels), width=4.2, height=1.9, cols=1)
    x = np.linspace(0, 100, CYCLE_POINTS)
    for ax, label in zip(axes, labels):
        for side, arr in curves[label].items():
            if arr.shape[0] == 0:
                continue
            m, sd = arr.mean(axis=0), arr.std(axis=0)
            ax.plot(x, m, color=SIDE_COLOURS[side], lw=1.6, label=f"{side} (n={arr.shape[0]})")
            ax.fill_between(x, m - sd, m + sd, color=SIDE_COLOURS[side], alpha=0.2)
            if np.isfinite(stance_end.get(side, np.nan)):
                ax.axvline(stance_end[side], color=SIDE_COLOURS[side], ls="--", lw=1)
        ax.set_title(label, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    for ax in axes[-min(2, len(axes)):]:
        ax.set_xlabel("% of gait cycle (0 = contact; dashed = toe-off)", fontsize=8)
    return _png(fig, plt)


def clip_cycle_plot(result, clean, tilt: np.ndarray | None) -> bytes | None:
    """The joint-angle curves that fit the clip's view: knee flexion and trunk lean from the side;
    pelvis tilt (+ = the other side lower, so a contralateral drop in this side's stance reads
    positive) and hip adduction from behind or in front. A side's curve is drawn only where the
    summary prints the measures read off it on that side, so a plot never shows a value the summary
    withholds."""
    from ..geometry import angle_to_vertical_deg, flexion_deg, frontal_inclination_deg

    steps = result.steps
    kind = result.view.get("kind")
    # {label: (measures read off the curve, {side: curves})}
    drawn: dict[str, tuple[tuple[str, ...], dict[str, np.ndarray]]] = {}
    if kind == "side":
        facing = int(result.view.get("facing") or 1)
        knee = {s: flexion_deg(clean.xy(f"{s}_hip"), clean.xy(f"{s}_knee"), clean.xy(f"{s}_ankle")) for s in ("left", "right")}
        drawn["Knee flexion (deg)"] = (("knee_flexion_ic_deg", "peak_knee_flexion_deg"),
                                       {s: cycle_curves(knee[s], steps, s) for s in knee})
        pelvis = 0.5 * (clean.xy("left_hip") + clean.xy("right_hip"))
        shoulders = 0.5 * (clean.xy("left_shoulder") + clean.xy("right_shoulder"))
        lean = angle_to_vertical_deg(pelvis, shoulders, np.array([facing, 0.0]), (0.0, -1.0))
        drawn["Trunk lean (deg, + = forward)"] = (("trunk_lean_deg",),
                                                  {s: cycle_curves(lean, steps, s) for s in ("left", "right")})
    else:
        if tilt is not None:
            # + = the other side lower during this side's stance (contralateral drop convention).
            drawn["Pelvis tilt (deg, + = the other side lower)"] = (("pelvic_drop_deg",), {
                "left": cycle_curves(tilt, steps, "left"), "right": cycle_curves(-tilt, steps, "right")})
        add = {}
        for s in ("left", "right"):
            o = "right" if s == "left" else "left"
            add[s] = cycle_curves(frontal_inclination_deg(clean.xy(f"{s}_hip"), clean.xy(f"{s}_knee"),
                                                          clean.xy(f"{o}_hip")), steps, s)
        drawn["Hip adduction (deg, + = knee toward the midline)"] = (("hip_adduction_deg",), add)
    curves = {label: {s: a for s, a in sides.items() if all(printed(result.summary, m, s) for m in measures)}
              for label, (measures, sides) in drawn.items()}
    valid = steps[steps.valid]
    stance_end = {}
    for s in ("left", "right"):
        v = valid[valid.side == s]
        if len(v) and "stride_time_s" in v and np.isfinite(v.stride_time_s).any():
            ratio = (v.contact_time_s / v.stride_time_s).to_numpy(float)
            stance_end[s] = float(100 * np.median(ratio[np.isfinite(ratio)])) if kind == "side" and np.isfinite(ratio).any() else np.nan
    return cycle_plot(curves, stance_end)
