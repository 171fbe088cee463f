"""Gait events from 2D landmarks: initial contact (IC), toe-off (TO) and midstance, per side.

Side view (:func:`detect_events_side`)
    Works for treadmill and overground running, facing either way: horizontal positions are taken
    relative to the pelvis, so a belt carrying the foot back and a runner passing a fixed camera
    look the same.

    1. *Strides.* The heel's position ahead of the pelvis, ``(heel x - pelvis x) * facing``, peaks
       once per stride as the foot swings forward.
    2. *IC* is the first local minimum of knee flexion (2D hip-knee-ankle angle, minimum depth
       :data:`KNEE_MINIMUM_PROMINENCE_DEG`) from shortly before that peak: in running the knee
       extends through terminal swing and starts flexing under load at contact. The knee angle uses
       the three steadiest leg keypoints; the foot keypoints are the ones BlazePose confuses when
       the legs cross, right around contact. On rendered runners with exact truth it put 95 % of
       contacts within one frame at 30 and 60 fps (bias about one frame early at 120 fps); the heel
       path methods reviewed by Fellin et al. 2010 (J Sci Med Sport 13:646) err 22-25 ms.
    3. *TO.* In stance the toe rides the belt: it moves backward at the belt speed and does not rise.
       TO is the end of the longest run of frames, between IC and the toe's most backward point,
       where the toe's speed relative to the belt is below :data:`TOE_SLIP_FRACTION` of the belt
       speed. The belt (or running) speed in
       pixels per frame is the typical backward speed of the toe in stance.
    4. *Midstance.* Halfway between IC and TO.

    Assumptions: the runner is seen from the side (``views.detect_view``), legs visible, left/right
    leg swaps repaired and trajectories smoothed (``preprocess``). At 30 fps a stance lasts 6-8
    frames, so contact times are approximate; 60 fps is the practical minimum for timing metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from .landmarks import Landmarks
from .preprocess import leg_length_px
from .schema import SIDES

#: Initial contact is a knee-flexion minimum at least this deep (degrees).
KNEE_MINIMUM_PROMINENCE_DEG = 5.0
#: The toe is on the belt while its speed relative to the belt is below this fraction of the belt speed.
TOE_SLIP_FRACTION = 0.5
#: A stride is 0.35-1.7 s (running at 70-340 strides... cadences 70-340 steps/min are searched).
MIN_STRIDE_S, MAX_STRIDE_S = 0.35, 1.7
#: Minima of the foot's forward position must stand out by this many leg lengths.
STRIDE_PROMINENCE_LEG = 0.25

EVENT_COLUMNS = ["side", "event", "frame", "time_s", "method"]


def _nan_interp(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, float).copy()
    ok = np.isfinite(y)
    if ok.sum() >= 2 and not ok.all():
        idx = np.arange(y.size)
        y[~ok] = np.interp(idx[~ok], idx[ok], y[ok])
    return y


def dominant_period_s(signal: np.ndarray, fps: float, lo_s: float, hi_s: float) -> float | None:
    """Period (s) of the strongest oscillation between lo_s and hi_s, from the autocorrelation."""
    x = _nan_interp(signal)
    if not np.isfinite(x).all() or x.size < 8:
        return None
    x = x - x.mean()
    ac = np.correlate(x, x, mode="full")[x.size - 1:]
    if ac[0] <= 0:
        return None
    ac = ac / ac[0]
    lo, hi = max(int(lo_s * fps), 1), min(int(hi_s * fps), x.size - 2)
    if hi <= lo:
        return None
    lag = lo + int(np.argmax(ac[lo:hi + 1]))
    if ac[lag] < 0.2:
        return None
    # Parabolic refinement of the peak.
    if 0 < lag < ac.size - 1:
        a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
        denom = a - 2 * b + c
        if denom < 0:
            lag = lag + 0.5 * (a - c) / denom
    return float(lag / fps)


def spectral_cadence_spm(lm: Landmarks, view) -> float:
    """Cadence from the dominant period of the legs' alternation (no event detection involved):
    the heels' fore-aft difference in a side view, the feet's height difference from behind or in
    front. A cross-check of the event-based cadence."""
    if view.kind == "side":
        pelvis_x = 0.5 * (lm.xy("left_hip")[:, 0] + lm.xy("right_hip")[:, 0])
        sig = (lm.xy("left_heel")[:, 0] - pelvis_x) - (lm.xy("right_heel")[:, 0] - pelvis_x)
    else:
        sig = (np.fmax(lm.xy("left_heel")[:, 1], lm.xy("left_foot_index")[:, 1])
               - np.fmax(lm.xy("right_heel")[:, 1], lm.xy("right_foot_index")[:, 1]))
    period = dominant_period_s(sig, lm.fps, MIN_STRIDE_S, MAX_STRIDE_S)
    return 120.0 / period if period else float("nan")


def _longest_run_end(mask: np.ndarray) -> int | None:
    """Index of the last element of the longest run of True values (None when there is none)."""
    if not mask.any():
        return None
    padded = np.concatenate([[False], mask, [False]]).astype(int)
    starts = np.nonzero(np.diff(padded) == 1)[0]
    ends = np.nonzero(np.diff(padded) == -1)[0]
    k = int(np.argmax(ends - starts))
    return int(ends[k] - 1)


def _speed(x: np.ndarray, step: int) -> np.ndarray:
    """Central difference over +-step frames, in units per frame (NaN at the ends)."""
    v = np.full(x.shape, np.nan)
    if x.shape[0] > 2 * step:
        v[step:-step] = (x[2 * step:] - x[:-2 * step]) / (2 * step)
    return v


def detect_events_side(lm: Landmarks, facing: int) -> pd.DataFrame:
    """Events table (columns :data:`EVENT_COLUMNS`) for a side view; see the module docstring.

    ``lm`` should be repaired and smoothed (``preprocess``); ``facing`` is +1 for a runner facing
    image-right, -1 for image-left.
    """
    from .geometry import flexion_deg

    t = lm.time
    fps = lm.fps
    n = lm.n_frames
    leg = leg_length_px(lm)
    leg_px = float(np.nanmedian(leg))
    pelvis_x = 0.5 * (lm.xy("left_hip")[:, 0] + lm.xy("right_hip")[:, 0])
    heel_fwd = {s: _nan_interp((lm.xy(f"{s}_heel")[:, 0] - pelvis_x) * facing) for s in SIDES}
    period = dominant_period_s(heel_fwd["left"] - heel_fwd["right"], fps, MIN_STRIDE_S, MAX_STRIDE_S)
    if period is None or not np.isfinite(leg_px):
        return pd.DataFrame(columns=EVENT_COLUMNS)
    stride = period * fps  # frames
    step = max(int(round(fps / 60.0)), 1)  # velocities over ~1/60 s, whatever the frame rate
    rows = []
    for side in SIDES:
        fwd = heel_fwd[side]
        knee = _nan_interp(flexion_deg(lm.xy(f"{side}_hip"), lm.xy(f"{side}_knee"), lm.xy(f"{side}_ankle")))
        toe = lm.xy(f"{side}_foot_index")
        toe_fwd = _nan_interp((toe[:, 0] - pelvis_x) * facing)
        toe_y = _nan_interp(toe[:, 1])
        if not (np.isfinite(fwd).all() and np.isfinite(knee).all() and np.isfinite(toe_fwd).all()):
            continue
        vx, vy = _speed(toe_fwd, step), _speed(toe_y, step)
        peaks, _ = find_peaks(fwd, distance=max(int(0.6 * stride), 1), prominence=STRIDE_PROMINENCE_LEG * leg_px)
        contacts = []
        for p in peaks:
            lo, hi = max(int(p - 0.1 * stride), 0), min(int(p + 0.35 * stride) + 1, n)
            minima, _ = find_peaks(-knee[lo:hi], prominence=KNEE_MINIMUM_PROMINENCE_DEG)
            if minima.size:
                contacts.append(lo + int(minima[0]))
        if not contacts:
            continue
        # Belt speed: the toe's typical backward speed during the stances found (two passes).
        belt = np.nanpercentile(-vx[vx < 0], 75) if np.any(vx < 0) else np.nan
        for _ in range(2):
            slip = np.hypot(vx + belt, vy)
            on_belt = slip < TOE_SLIP_FRACTION * belt
            if on_belt.sum() >= 5:
                belt = float(np.nanmedian(-vx[on_belt]))
        slip = np.hypot(vx + belt, vy)
        for ic in contacts:
            rows.append({"side": side, "event": "initial_contact", "frame": int(ic), "time_s": float(t[ic]),
                         "method": "side: first knee-extension minimum around the foot's most forward point"})
            end = min(int(ic + 0.6 * stride), n - 1)
            if end <= ic + 1:
                continue
            trough = ic + int(np.argmin(toe_fwd[ic:end + 1]))
            riding = slip[ic:trough + 1] < TOE_SLIP_FRACTION * belt
            run_end = _longest_run_end(riding)
            if run_end is None or trough >= n - 1:
                continue
            to = ic + run_end
            if to <= ic:
                continue
            rows.append({"side": side, "event": "toe_off", "frame": int(to), "time_s": float(t[to]),
                         "method": "side: last frame the toe rides the belt before swinging forward"})
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    return _add_midstance(events)


#: A frontal-view contact starts when the foot's descent slows below this fraction of its peak speed,
#: and ends when its rise reaches this fraction of the peak rising speed.
FRONTAL_SPEED_FRACTION = 0.3


def detect_events_frontal(lm: Landmarks) -> pd.DataFrame:
    """Events table for a rear or front view (no horizontal cue: the feet move toward or away from
    the camera).

    Signal: the image height of each foot's lowest point (heel or toe), which dips once per stride
    as the heel is drawn up in swing.

    1. *Strides*: the minima of that height (the foot at its highest), one per stride.
    2. *IC*: after the foot's highest point it descends; IC is the first frame after the fastest
       descent where the descent slows below :data:`FRONTAL_SPEED_FRACTION` of its peak speed (the
       foot has met the belt; on a treadmill it then drifts slowly toward or away from the camera).
    3. *TO*: before the next highest point the foot rises; TO is the last frame before the fastest
       rise where the rising speed is still below that fraction.
    4. *Midstance*: halfway between IC and TO.

    Frontal contact timing is less exact than in a side view (the toe is hidden behind the heel
    from behind); it serves to place midstance and the stance window for frontal-plane angles.
    """
    t = lm.time
    fps = lm.fps
    n = lm.n_frames
    leg = leg_length_px(lm)
    leg = np.where(np.isfinite(leg), leg, np.nanmedian(leg))
    low = {s: _nan_interp(np.fmax(lm.xy(f"{s}_heel")[:, 1], lm.xy(f"{s}_foot_index")[:, 1])) for s in SIDES}
    if not all(np.isfinite(v).all() for v in low.values()):
        return pd.DataFrame(columns=EVENT_COLUMNS)
    period = dominant_period_s(low["left"] - low["right"], fps, MIN_STRIDE_S, MAX_STRIDE_S)
    if period is None:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    spacing = max(int(0.6 * period * fps), 1)
    prominence = 0.10 * float(np.nanmedian(leg))
    rows = []
    for side in SIDES:
        y = low[side]
        v = np.gradient(y)
        high, _ = find_peaks(-y, distance=spacing, prominence=prominence)
        for a, b in zip(high[:-1], high[1:]):
            seg = v[a:b + 1]
            i_fall = int(np.argmax(seg))
            i_rise = int(np.argmin(seg))
            if seg[i_fall] <= 0 or seg[i_rise] >= 0 or i_rise <= i_fall:
                continue
            slow = np.nonzero(seg[i_fall:i_rise] < FRONTAL_SPEED_FRACTION * seg[i_fall])[0]
            if slow.size == 0:
                continue
            ic = a + i_fall + int(slow[0])
            still = np.nonzero(seg[:i_rise + 1][::-1] > FRONTAL_SPEED_FRACTION * seg[i_rise])[0]
            to = a + i_rise - int(still[0]) if still.size else None
            rows.append({"side": side, "event": "initial_contact", "frame": ic, "time_s": float(t[ic]),
                         "method": "frontal: foot's descent slows after its highest point"})
            if to is not None and ic < to < n - 1:
                rows.append({"side": side, "event": "toe_off", "frame": int(to), "time_s": float(t[to]),
                             "method": "frontal: last frame before the foot rises"})
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    return _add_midstance(events)


def _add_midstance(events: pd.DataFrame) -> pd.DataFrame:
    if events.empty:
        return events
    rows = []
    for side in SIDES:
        ev = events[events.side == side].sort_values("time_s")
        ics = ev[ev.event == "initial_contact"]
        tos = ev[ev.event == "toe_off"]
        for _, ic in ics.iterrows():
            nxt = tos[tos.time_s > ic.time_s]
            if nxt.empty:
                continue
            to = nxt.iloc[0]
            later_ic = ics[ics.time_s > ic.time_s]
            if not later_ic.empty and later_ic.iloc[0].time_s < to.time_s:
                continue
            t_ms = 0.5 * (ic.time_s + to.time_s)
            frame = int(round(0.5 * (ic.frame + to.frame)))
            rows.append({"side": side, "event": "midstance", "frame": frame, "time_s": t_ms,
                         "method": "halfway between IC and TO"})
    out = pd.concat([events, pd.DataFrame(rows, columns=EVENT_COLUMNS)], ignore_index=True)
    return out.sort_values(["time_s", "side"]).reset_index(drop=True)
