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
       the legs cross, right around contact. The heel path methods reviewed by Fellin et al. 2010
       (J Sci Med Sport 13:646) err 22-25 ms.
       Measured (``gaitlab validate``, 80 side clips no constant was tuned on): bias -13 ms (near
       leg) and -9 ms (far leg), median error 16 ms on each; within one frame 52 % and 57 % at
       50-90 fps, 51 % and 52 % over 30-240 fps. How well it holds depends on how the runner
       moves, since the knee's straightest moment is not the foot touching down: gaitlab's
       rendered runners have the knee straightest 20-70 ms before contact and flexing onto it
       (median 3.8 deg), and there contacts come 8-15 ms early (median per set and leg); on the
       independent renderer's runners (``../shared/validation``) they come 24-35 ms late, and on
       the real treadmill clip with hand-marked contacts (30 fps) 70 ms (two frames) early. The
       foot's landing (below) and the foot starting to ride the belt were measured as the contact
       too, and were further off on at least one of the three kinds of runner.
    3. *TO.* In stance the toe rides the belt: it moves backward at the belt speed and does not rise.
       The toe's lift is the end of its longest run of frames on its ground line after IC (within
       :data:`LANDED_LEG`, as for a foot landing); TO is the last frame up to the lift where the
       toe's speed relative to the belt is below :data:`TOE_SLIP_FRACTION` of the belt speed. The
       belt (or running) speed in pixels per frame is the typical backward speed of the toe in
       stance. (The lift alone is late: the toe keypoint rises past the threshold a frame or two
       after the foot leaves the belt. The toe's speed alone is not enough: BlazePose's toe keypoint
       stalls for a few frames mid-stance as the other foot passes it, which broke the run of
       belt-riding frames and put TO up to 150 ms early.)
    4. *Midstance.* Halfway between IC and TO.

    Event times: ``time_s`` of an IC is refined between frames by the parabola through the
    knee-flexion minimum (:func:`subframe_extremum`), which halves the quantisation error of
    cadence on short clips, and its ``frame`` is the frame nearest that time. Other events are
    timed at their frame.

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


def autocorrelation(signal: np.ndarray) -> np.ndarray | None:
    """Normalised autocorrelation of a signal (NaNs interpolated, mean removed), by FFT."""
    x = _nan_interp(signal)
    if x.size < 8 or not np.isfinite(x).all():
        return None
    x = x - x.mean()
    n = 1 << int(np.ceil(np.log2(2 * x.size)))
    f = np.fft.rfft(x, n)
    ac = np.fft.irfft(f * np.conj(f), n)[:x.size]
    if ac[0] <= 0:
        return None
    return ac / ac[0]


def _refine_lag(ac: np.ndarray, lag: int) -> float:
    if 0 < lag < ac.size - 1:
        a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
        denom = a - 2 * b + c
        if denom < 0:
            return lag + 0.5 * (a - c) / denom
    return float(lag)


def _refine_period(ac: np.ndarray, lag: int) -> float:
    """The period (samples) of the autocorrelation peak at ``lag``, refined on its whole multiples.

    The peaks are read on the unbiased autocorrelation (each lag's sum over the samples that
    overlap there): the plain one shrinks with the lag, which pulls every peak toward shorter lags.
    A peak's position is found to about the same fraction of a sample at any lag, so the period is
    re-read on the peaks at 2, 4, 8 ... periods (whole strides whichever leg comes first) while they
    lie within half the signal and stand at least half as high as the first: over m periods the
    error of one period is m times smaller (a 6-second clip at 30 fps read 191.1 steps/min from
    its first peak for a true 190)."""
    n = ac.size
    unbiased = ac * n / (n - np.arange(n))
    period = _refine_lag(unbiased, lag)
    m = 2
    while m * period <= n // 2:
        centre = int(round(m * period))
        reach = max(2, int(0.1 * period))
        lo, hi = max(centre - reach, 1), min(centre + reach + 1, n - 1)
        k = lo + int(np.argmax(unbiased[lo:hi]))
        if not (lo < k < hi - 1) or unbiased[k] < 0.5 * unbiased[lag]:
            break
        period = _refine_lag(unbiased, k) / m
        m *= 2
    return period


def dominant_period_s(signal: np.ndarray, fps: float, lo_s: float, hi_s: float,
                      min_correlation: float = 0.2) -> float | None:
    """Period (s) of the strongest repetition between lo_s and hi_s, from the autocorrelation.

    Prefers the fundamental: when half the best lag also repeats nearly as well (at least 80 % of
    the best correlation), half is taken, so a clip is not read at half its true rate.
    """
    ac = autocorrelation(signal)
    if ac is None:
        return None
    lo, hi = max(int(lo_s * fps), 1), min(int(hi_s * fps), ac.size // 2)
    if hi <= lo:
        return None
    peaks, _ = find_peaks(ac[:hi + 1])
    peaks = peaks[peaks >= lo]
    if peaks.size == 0:
        return None
    best = int(peaks[np.argmax(ac[peaks])])
    if ac[best] < min_correlation:
        return None
    while True:
        half = peaks[np.abs(peaks - best / 2) <= max(2, 0.1 * best / 2)]
        if half.size == 0 or ac[half].max() < 0.8 * ac[best]:
            break
        best = int(half[np.argmax(ac[half])])
    return float(_refine_period(ac, best) / fps)


#: Shortest step period (s) the rhythm looks for (353 steps/min).
MIN_STEP_S = 0.17
#: Shortest period (s) looked for to tell a clip that plays too fast (1200 steps/min).
FASTEST_STEP_SEARCH_S = 0.05
#: A foot counts as down when within this many leg lengths of its own running ground line.
FOOT_DOWN_LEG = 0.05


def rhythm(lm: Landmarks, view) -> dict:
    """Label-free rhythm of the gait, before any event detection.

    ``cadence_spm``: from the dominant period of a signal that repeats once per step whichever leg
    is which (so left/right label errors cannot halve it): the feet's fore-aft separation in a side
    view, the pelvis's height (detrended over half a second) from behind or in front; where that
    period is the stride, half of it (:func:`_unlock_from_stride`).
    ``fastest_cadence_spm``: the same read with periods down to :data:`FASTEST_STEP_SEARCH_S`, far
    shorter than any runner's step, so that a clip playing several times too fast is recognised.
    ``both_feet_down``: fraction of frames with both feet within :data:`FOOT_DOWN_LEG` leg lengths of
    their ground lines (a running 90th percentile of each foot's lowest image point over 1.5 strides).
    Running has a flight phase and rarely has both feet down: over the 205 clips of ``gaitlab
    validate`` (run new40) at most 0.08 from behind or in front, but up to 0.31 from the side, where
    the swinging foot passes low beside the stance foot; the two real walking clips read 0.23 and
    0.83, a real jog in place 0.46.
    ``pelvis_phase`` (side view only, else NaN): :func:`pelvis_phase`.
    """
    from scipy.ndimage import percentile_filter

    fps = lm.fps
    leg = leg_length_px(lm)
    if view.kind == "side":
        signed = (lm.xy("left_ankle")[:, 0] - lm.xy("right_ankle")[:, 0]) / leg
        sig = np.abs(signed)
    else:
        # Which ankle is higher in the image (the swinging one) changes at every step.
        signed = (lm.xy("left_ankle")[:, 1] - lm.xy("right_ankle")[:, 1]) / leg
        pelvis_y = 0.5 * (lm.xy("left_hip")[:, 1] + lm.xy("right_hip")[:, 1]) / leg
        k = max(int(0.5 * fps) | 1, 3)
        filled = _nan_interp(pelvis_y)
        trend = np.convolve(np.pad(filled, (k // 2, k // 2), mode="edge"), np.ones(k) / k, "valid")
        sig = filled - trend
    step = dominant_period_s(sig, fps, MIN_STEP_S, 10.0)
    if step:
        step = _unlock_from_stride(signed, fps, step)
    # The same search down to periods no runner reaches: a clip that plays faster than it was
    # filmed shows its true (too fast) rhythm here, where the search above finds a multiple.
    fastest = dominant_period_s(sig, fps, FASTEST_STEP_SEARCH_S, 10.0)
    out = {"cadence_spm": 60.0 / step if step else float("nan"), "both_feet_down": float("nan"),
           "leg_motion": leg_motion(lm), "fastest_cadence_spm": 60.0 / fastest if fastest else float("nan"),
           "pelvis_phase": float("nan")}
    window = max(int(1.5 * (2 * step if step else 1.0) * fps) | 1, 5)
    down = []
    for side in SIDES:
        low = _nan_interp(np.fmax(lm.xy(f"{side}_heel")[:, 1], lm.xy(f"{side}_foot_index")[:, 1]))
        if not np.isfinite(low).all():
            return out  # the feet cannot be followed (keypoints imported without them)
        ground = percentile_filter(low, 90, size=window, mode="nearest")
        down.append((ground - low) / leg < FOOT_DOWN_LEG)
    out["both_feet_down"] = float(np.mean(down[0] & down[1]))
    if view.kind == "side":
        out["pelvis_phase"] = pelvis_phase(lm, sig)
    return out


def pelvis_phase(lm: Landmarks, separation: np.ndarray) -> float:
    """How the pelvis moves within a step, seen from the side: the correlation over the clip of the
    pelvis's height with the feet's fore-aft separation ``separation`` (per frame), each less its
    one-second running mean. Positive in running: the body is lowest as it passes over the stance
    foot, with the feet together, and highest in flight, with them apart. Negative in walking: the
    body vaults over a straight stance leg, highest with the feet together and lowest in double
    support, with them apart (Bramble and Lieberman 2004, ``bramble2004``). Measured on the 80 side
    clips of ``gaitlab validate`` (held-out, independent and the real treadmill clip; nothing tuned
    on them): -0.00 to +0.92, median +0.70 (the real clip +0.91); on the real side-view walking clip
    (its first 6 s, one walker in view) -0.22. So it tells walking from running only together with
    other evidence (:func:`gaitlab.analysis.check_steps`). NaN with too few frames."""
    k = max(int(round(lm.fps)) | 1, 3)
    if lm.n_frames < 3 * k:
        return float("nan")
    height = -_nan_interp(0.5 * (lm.xy("left_hip")[:, 1] + lm.xy("right_hip")[:, 1]))
    apart = _nan_interp(separation)
    if not (np.isfinite(height).all() and np.isfinite(apart).all()):
        return float("nan")
    from scipy.ndimage import uniform_filter1d

    both = np.stack([height, apart])
    detrended = (both - uniform_filter1d(both, k, axis=1))[:, k // 2: -(k // 2)]
    r = np.corrcoef(detrended)[0, 1]
    return float(r) if np.isfinite(r) else float("nan")


#: The feet's signed separation alternates (each foot in front, or higher) when it is positive in
#: between this fraction of the frames and its complement.
ALTERNATING_FRACTION = 0.25


def _unlock_from_stride(signed: np.ndarray, fps: float, step_s: float) -> float:
    """The step period, corrected where the per-step signal repeated once per stride.

    The per-step signals (the feet's unsigned fore-aft separation from the side, the pelvis's
    height from behind or in front) repeat once per step only when the two steps look alike; when
    one leg lands far ahead of the body and the other does not, or the pelvis bobs more over one
    leg, every second step is the larger one and the strongest repetition is the stride, which
    would read as half the cadence (and refuse the clip as slow motion). ``signed``, the left minus
    the right ankle (fore-aft from the side, height from behind or in front), changes sign at
    every step, so its period is the stride whatever the steps look like: where the per-step
    period equals it, the step is half of it. Only where the labels alternate (each foot is in
    front, or higher, about half the time), so a tracker that labels the front foot "left" cannot
    halve the period.
    """
    ahead = signed[np.isfinite(signed)] > 0
    if ahead.size == 0 or not ALTERNATING_FRACTION <= ahead.mean() <= 1 - ALTERNATING_FRACTION:
        return step_s
    stride_s = dominant_period_s(signed, fps, 2 * MIN_STEP_S, 20.0)
    if stride_s and abs(stride_s / step_s - 1.0) < 0.15:
        return stride_s / 2
    return step_s


def leg_motion(lm: Landmarks) -> float:
    """How far the feet move relative to the pelvis over the clip, in leg lengths: the larger of
    the two ankles' spread (5th to 95th percentile of their offset from the hip midpoint). Running
    moves them most of a leg length; a person standing still, a few hundredths."""
    leg = float(np.nanmedian(leg_length_px(lm)))
    hips = 0.5 * (lm.xy("left_hip") + lm.xy("right_hip"))
    spreads = []
    for side in SIDES:
        rel = lm.xy(f"{side}_ankle") - hips
        if np.isfinite(rel).any():
            lo, hi = np.nanpercentile(rel, [5, 95], axis=0)
            spreads.append(float(np.linalg.norm(hi - lo)))
    return max(spreads) / leg if spreads and np.isfinite(leg) and leg > 0 else float("nan")


def subframe_extremum(y: np.ndarray, i: int) -> float:
    """Fractional index of the extremum of ``y`` at sample ``i``, from the parabola through
    ``y[i-1], y[i], y[i+1]`` (clipped to half a frame either way)."""
    if 0 < i < y.size - 1:
        a, b, c = float(y[i - 1]), float(y[i]), float(y[i + 1])
        den = a - 2 * b + c
        if den != 0 and np.isfinite(den):
            return i + float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return float(i)


def _time_at(t: np.ndarray, position: float) -> float:
    """Time of a fractional frame position, interpolated between the frames' own timestamps."""
    return float(np.interp(position, np.arange(t.size), t))


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


#: The foot has landed once its lowest point is within this many leg lengths of its ground line ...
LANDED_LEG = 0.04
#: ... and stays within this many for :data:`LANDED_HOLD_S` seconds.
STANCE_LEG, LANDED_HOLD_S = 0.08, 0.05
#: The landing's time is the corner of a hinge (descent, then the belt) fitted to the lowest point's
#: height over this many seconds either side of the first landed frame (at least 2 frames).
LANDING_HALF_WINDOW_S = 0.067
#: The corner is searched from this many frames (at 60 fps; scaled with the frame rate) before the
#: first landed frame to this many after.
LANDING_SEARCH = (2.0, 1.0)


def foot_height_leg(lm: Landmarks, side: str, stride_frames: float, leg_px: float) -> np.ndarray:
    """(T,) height of the foot's lowest point (heel or toe keypoint) above its ground line, in leg
    lengths. The ground line is the running 90th percentile of the lowest point's image row over 1.5
    strides, per foot: the far foot stands higher in the image when the camera looks down."""
    low = np.fmax(lm.xy(f"{side}_heel")[:, 1], lm.xy(f"{side}_foot_index")[:, 1])
    return height_above_ground(low, stride_frames, leg_px)


def height_above_ground(y: np.ndarray, stride_frames: float, leg_px: float) -> np.ndarray:
    """(T,) height of an image row ``y`` (pixels, y down, NaN where unknown) above its ground line,
    in leg lengths: the running 90th percentile of ``y`` over 1.5 strides."""
    from scipy.ndimage import percentile_filter

    low = _nan_interp(y)
    window = max(int(1.5 * stride_frames) | 1, 5)
    ground = percentile_filter(low, 90, size=window, mode="nearest")
    return (ground - low) / leg_px


def _landing_corners(h: np.ndarray, first: np.ndarray, fps: float) -> np.ndarray:
    """Fractional frames of the landing corners: a hinge (descent, then the belt) fitted to the foot
    height ``h`` around each first landed frame in ``first``."""
    from .fitting import hinge_fit

    n = h.size
    k = np.asarray(first, float)
    if k.size == 0:
        return k
    half = max(LANDING_HALF_WINDOW_S * fps, 2.0)
    scale = max(fps / 60.0, 1.0)
    reach = int(np.ceil(half + LANDING_SEARCH[1] * scale))
    frames = np.round(k).astype(int)[:, None] + np.arange(-reach, reach + 1)[None, :]
    inside = (frames >= 0) & (frames < n) & (np.abs(frames - k[:, None]) <= reach)
    frames = np.clip(frames, 0, n - 1)
    y = np.where(inside, h[frames], np.nan)
    grid = k[:, None] + np.arange(-LANDING_SEARCH[0], LANDING_SEARCH[1] + 1e-9, 0.1)[None, :] * scale
    # The height falls, then lies flat: the hinge turns up (c > 0).
    _, corner = hinge_fit(frames.astype(float), y, grid, turn=+1)
    return np.where(np.isfinite(corner), corner, k)


def _contacts(lm: Landmarks, side: str, peaks: np.ndarray, stride: float, leg_px: float, knee: np.ndarray):
    """Initial contacts of one foot, one per stride peak (the foot's most forward point): a list of
    (fractional frame, method).

    The contact is the first knee-extension minimum near the peak
    (:data:`KNEE_MINIMUM_PROMINENCE_DEG`): the knee extends through terminal swing and flexes under
    load. Where the knee shows no such minimum (a straight-legged landing far ahead of the body),
    the foot's landing stands in: the first frame from which its lowest point stays on its ground
    line (:data:`LANDED_LEG`, held :data:`LANDED_HOLD_S`), refined to the corner of a hinge fitted to
    its height, so such a runner is analysed rather than refused for missing contacts. (Measured
    against truth, the foot's landing was not timed better overall: ``gaitlab validate``.)
    """
    from numpy.lib.stride_tricks import sliding_window_view

    n = lm.n_frames
    fps = lm.fps
    h = foot_height_leg(lm, side, stride, leg_px)
    hold = max(int(round(LANDED_HOLD_S * fps)), 1)
    # On the ground from frame k: within LANDED_LEG there, and within STANCE_LEG for the hold after.
    ahead = sliding_window_view(np.concatenate([h, np.full(hold, np.inf)]), hold + 1).max(axis=1)
    on_ground = (h <= LANDED_LEG) & (ahead <= STANCE_LEG)
    knee_at, first_landed = [], []
    for p in peaks:
        lo, hi = max(int(p - 0.15 * stride), 0), min(int(p + 0.4 * stride) + 1, n)
        landed = np.nonzero(on_ground[lo:max(hi, lo)])[0]
        first_landed.append(lo + int(landed[0]) if landed.size else -1)
        klo, khi = max(int(p - 0.1 * stride), 0), min(int(p + 0.35 * stride) + 1, n)
        minima, _ = find_peaks(-knee[klo:khi], prominence=KNEE_MINIMUM_PROMINENCE_DEG)
        knee_at.append(subframe_extremum(-knee, klo + int(minima[0])) if minima.size else np.nan)
    first_landed = np.asarray(first_landed)
    foot_at = np.full(first_landed.size, np.nan)
    has_foot = first_landed >= 0
    foot_at[has_foot] = _landing_corners(h, first_landed[has_foot], fps)
    knee_at = np.asarray(knee_at, float)
    out = []
    for k, f in zip(knee_at, foot_at):
        if np.isfinite(k):
            out.append((float(k), "side: first knee-extension minimum around the foot's most forward point"))
        elif np.isfinite(f):
            out.append((float(f), "side: the foot lands (its lowest point reaches the belt)"))
    return out


def toe_off_frame(on_ground: np.ndarray, riding: np.ndarray) -> int | None:
    """Toe-off within one stance window (frame 0 = the contact): the last frame, up to the toe's
    lift, that the toe rides the belt. The lift is the frame after the longest run of frames with
    the toe on its ground line (``on_ground``); ``riding``: the toe moves with the belt. None when
    the toe does not lift within the window or never rides the belt after the contact."""
    down = _longest_run_end(on_ground)
    if down is None or down >= on_ground.size - 1:
        return None
    ride = np.nonzero(riding[:down + 2])[0]
    if ride.size == 0 or ride[-1] == 0:
        return None
    return int(ride[-1])


def detect_events_side(lm: Landmarks, facing: int, stride_s: float | None = None) -> pd.DataFrame:
    """Events table (columns :data:`EVENT_COLUMNS`) for a side view; see the module docstring.

    ``lm`` should be repaired and smoothed (``preprocess``); ``facing`` is +1 for a runner facing
    image-right, -1 for image-left; ``stride_s`` the stride period when known (:func:`rhythm`).
    """
    from .geometry import flexion_deg

    t = lm.time
    fps = lm.fps
    n = lm.n_frames
    leg = leg_length_px(lm)
    leg_px = float(np.nanmedian(leg))
    pelvis_x = 0.5 * (lm.xy("left_hip")[:, 0] + lm.xy("right_hip")[:, 0])
    heel_fwd = {s: _nan_interp((lm.xy(f"{s}_heel")[:, 0] - pelvis_x) * facing) for s in SIDES}
    period = stride_s or dominant_period_s(heel_fwd["left"] - heel_fwd["right"], fps, MIN_STRIDE_S, MAX_STRIDE_S)
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
        toe_on_ground = height_above_ground(toe[:, 1], stride, leg_px) <= LANDED_LEG
        if not (np.isfinite(fwd).all() and np.isfinite(knee).all() and np.isfinite(toe_fwd).all()):
            continue
        vx, vy = _speed(toe_fwd, step), _speed(toe_y, step)
        peaks, _ = find_peaks(fwd, distance=max(int(0.6 * stride), 1), prominence=STRIDE_PROMINENCE_LEG * leg_px)
        contacts = _contacts(lm, side, peaks, stride, leg_px, knee)
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
        for at, method in contacts:
            ic = int(np.clip(round(at), 0, n - 1))
            rows.append({"side": side, "event": "initial_contact", "frame": ic, "time_s": _time_at(t, at),
                         "method": method})
            end = min(int(ic + 0.6 * stride), n - 1)
            if end <= ic + 1:
                continue
            to = toe_off_frame(toe_on_ground[ic:end + 1], slip[ic:end + 1] < TOE_SLIP_FRACTION * belt)
            if to is None:
                continue
            to += ic
            rows.append({"side": side, "event": "toe_off", "frame": int(to), "time_s": float(t[to]),
                         "method": "side: last frame the toe rides the belt before swinging forward"})
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    return _add_midstance(events)


#: A frontal-view toe-off is the last frame before the foot's rise reaches this fraction of its peak
#: rising speed.
FRONTAL_RISE_FRACTION = 0.3


#: The waistband line's height stands in for the trunk's when it was tracked in at least this
#: fraction of the frames with the runner in view.
WAISTLINE_MIN_TRACKED = 0.8


def trunk_height(lm: Landmarks) -> np.ndarray:
    """The trunk's height in the image per frame (pixels, y down), gaps filled.

    The waistband line's height measured from the pixels (:mod:`gaitlab.image.pelvis`, frame
    signal ``pelvis_line_y``) where it was found (:func:`gaitlab.image.pelvis.line_found`) in most
    frames; otherwise the mean height of the
    shoulder and hip keypoints. The keypoints lag: the pose model smooths them over time, and on
    independently rendered runners their lowest point came 1-2 frames (60 fps) after the true
    midstance, the pixel-measured line's on the frame.
    """
    from .image.pelvis import line_found

    y = lm.frame_signals.get("pelvis_line_y")
    found = line_found(lm.frame_signals, lm.n_frames)
    if y is not None and found is not None:
        good = found & lm.detected
        if good.sum() >= WAISTLINE_MIN_TRACKED * max(lm.detected.sum(), 1):
            from .preprocess import despike, despike_window

            return despike(_nan_interp(np.where(good, y, np.nan).astype(float)), despike_window(lm.fps))[0]
    return _nan_interp(0.25 * (lm.xy("left_hip")[:, 1] + lm.xy("right_hip")[:, 1]
                               + lm.xy("left_shoulder")[:, 1] + lm.xy("right_shoulder")[:, 1]))


def detect_events_frontal(lm: Landmarks, stride_s: float | None = None) -> pd.DataFrame:
    """Events table for a rear or front view, where the feet move toward or away from the camera and
    give no fore-aft cue.

    1. *Midstance* is where the trunk is lowest (:func:`trunk_height`, detrended over one step,
       peaks once per step). In running the body is lowest near mid-stance, when the stance knee is
       most flexed. The stance foot is the lower of the two feet in the image at that moment.
    2. *TO*: after midstance the stance foot rises; TO is the last frame before its rising speed,
       relative to the drift it had at midstance while riding the belt, reaches
       :data:`FRONTAL_RISE_FRACTION` of its peak. Where that rise is not seen (the foot already
       rising at midstance, or hidden), the toe-off is placed the clip's median half-stance after
       the midstance, and its ``method`` says so.
    3. *IC* is placed symmetrically, ``2 * midstance - TO`` (midstance is mid-contact by definition):
       from behind the heel hides the landing.

    On rendered runners with exact truth: midstance within 2 frames (at 60 fps) on 88-100 % of
    steps; toe-off within 2 frames on about 90 %.
    Use these events to place midstance and the stance window; contact times are not reported from
    frontal views.
    """
    t = lm.time
    fps = lm.fps
    n = lm.n_frames
    trunk_y = trunk_height(lm)
    # The foot's lowest point; the ankle stands in for keypoint sets without heels and toes (COCO).
    low = {s: _nan_interp(np.fmax(np.fmax(lm.xy(f"{s}_heel")[:, 1], lm.xy(f"{s}_foot_index")[:, 1]),
                                  lm.xy(f"{s}_ankle")[:, 1])) for s in SIDES}
    if not (np.isfinite(trunk_y).all() and all(np.isfinite(v).all() for v in low.values())):
        return pd.DataFrame(columns=EVENT_COLUMNS)
    if stride_s is None:
        stride_s = dominant_period_s(low["left"] - low["right"], fps, MIN_STRIDE_S, MAX_STRIDE_S)
        if stride_s is None:
            return pd.DataFrame(columns=EVENT_COLUMNS)
    step = 0.5 * stride_s * fps  # frames
    k = max(int(step) | 1, 3)
    trend = np.convolve(np.pad(trunk_y, (k // 2, k // 2), mode="edge"), np.ones(k) / k, "valid")
    lowest, _ = find_peaks(trunk_y - trend, distance=max(int(0.6 * step), 1))
    sides = alternating_sides(lowest, low["left"][lowest] > low["right"][lowest], step)
    to_found = np.array([_frontal_toe_off(low[side], int(m), step, n) for m, side in zip(lowest, sides)], int)
    # A stance whose toe-off is not seen (the foot already rising at midstance, or hidden) keeps
    # its midstance: its toe-off is placed the clip's typical half-stance after it.
    seen = to_found > 0
    half = int(round(np.median(to_found[seen] - lowest[seen]))) if seen.any() else 0
    rows = []
    for m, side, to in zip(lowest, sides, to_found):
        placed = to <= 0
        if placed:
            if half <= 0:
                continue
            to = m + half
        ic = 2 * m - to
        if ic < 0 or to >= n - 1 or to <= m:
            continue
        t_ms = _time_at(t, subframe_extremum(trunk_y - trend, int(m)))
        for event, frame in (("initial_contact", ic), ("midstance", m), ("toe_off", to)):
            method = {"initial_contact": "frontal: mirror of toe-off about midstance",
                      "midstance": "frontal: trunk at its lowest",
                      "toe_off": ("frontal: the clip's typical half-stance after midstance (the foot's rise "
                                  "was not seen)") if placed else "frontal: last frame before the foot rises"}[event]
            rows.append({"side": side, "event": event, "frame": int(frame),
                         "time_s": t_ms if event == "midstance" else float(t[frame]), "method": method})
    return pd.DataFrame(rows, columns=EVENT_COLUMNS).sort_values(["time_s", "side"]).reset_index(drop=True)


def alternating_sides(frames: np.ndarray, left_lower: np.ndarray, step: float) -> np.ndarray:
    """The stance side of each midstance at ``frames`` (ascending), from behind or in front.

    Each stance foot is the lower of the two in the image (``left_lower``: whether the foot the pose
    model labels left is the lower), but from behind the model sometimes gives the two legs each
    other's labels for a stance or two (on rendered runners up to 5 of 16 stances of a clip). Stances
    alternate, so the labels are taken as votes: within a run of midstances whose gaps are one or two
    steps (``step``, frames; two where one was missed), the sides alternate step by step from the
    start side most of the run's labels agree with. A run whose labels split evenly keeps them as
    they are.
    """
    frames = np.asarray(frames, int)
    left_lower = np.asarray(left_lower, bool)
    if frames.size == 0:
        return np.array([], dtype=object)
    gaps = np.rint(np.diff(frames) / max(step, 1.0)).astype(int)
    run = np.concatenate([[0], np.cumsum((gaps < 1) | (gaps > 2))])
    count = np.concatenate([[0], np.cumsum(np.where((gaps >= 1) & (gaps <= 2), gaps, 0))])
    count -= count[np.searchsorted(run, run)]  # steps since the run's first midstance
    even = count % 2 == 0
    agree = np.bincount(run, weights=np.where(even == left_lower, 1.0, -1.0))  # + : the run starts left
    start_left = agree[run] > 0
    side = np.where(even == start_left, "left", "right")
    return np.where(agree[run] == 0, np.where(left_lower, "left", "right"), side).astype(object)


def _frontal_toe_off(low: np.ndarray, m: int, step: float, n: int) -> int:
    """Toe-off after the midstance at frame ``m`` from behind or in front: the last frame before the
    stance foot's rising speed, relative to the drift it had at midstance while riding the belt
    toward or away from the camera, reaches :data:`FRONTAL_RISE_FRACTION` of its peak; -1 where
    the rise is not seen."""
    rise = np.gradient(low)[m:min(m + int(0.8 * step) + 1, n)]
    if rise.size < 4:
        return -1
    rise = rise - np.median(rise[:3])
    if rise.min() >= 0:
        return -1
    i_rise = int(np.argmin(rise))
    before = np.nonzero(rise[:i_rise + 1][::-1] > FRONTAL_RISE_FRACTION * rise[i_rise])[0]
    if before.size == 0:
        return -1
    to = m + i_rise - int(before[0])
    return to if to > m else -1


def _add_midstance(events: pd.DataFrame) -> pd.DataFrame:
    """Add a midstance halfway between each IC and the same foot's next TO (when that TO comes
    before the foot's next IC), for all contacts at once."""
    if events.empty:
        return events
    parts = [events]
    for side in SIDES:
        ev = events[events.side == side]
        ic = ev[ev.event == "initial_contact"].sort_values("time_s")
        to = ev[ev.event == "toe_off"].sort_values("time_s")
        if ic.empty or to.empty:
            continue
        t_ic, t_to = ic.time_s.to_numpy(float), to.time_s.to_numpy(float)
        j = np.searchsorted(t_to, t_ic, side="right")
        next_ic = np.append(t_ic[1:], np.inf)
        ok = j < t_to.size
        ok[ok] &= t_to[j[ok]] < next_ic[ok]
        jj = j[ok]
        parts.append(pd.DataFrame({
            "side": side, "event": "midstance",
            "frame": np.rint(0.5 * (ic.frame.to_numpy(float)[ok] + to.frame.to_numpy(float)[jj])).astype(int),
            "time_s": 0.5 * (t_ic[ok] + t_to[jj]), "method": "halfway between IC and TO"}, columns=EVENT_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["time_s", "side"]).reset_index(drop=True)
