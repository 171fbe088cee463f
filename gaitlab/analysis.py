"""From landmarks to results: view, cleaning, events, steps, per-step metrics, checks of the gait.

:func:`analyze_landmarks` is the library entry point after pose estimation; it needs no video and
no MediaPipe, so saved landmarks can be re-analysed anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import FPS_RANGE, AnalysisConfig, RunnerInfo
from .errors import AnalysisError
from .events import detect_events_frontal, detect_events_side, rhythm
from .landmarks import Landmarks
from .metrics.frontal import frontal_metrics, mid_flight_level, pelvis_level_deg
from .metrics.sagittal import sagittal_metrics
from .preprocess import fill_and_smooth, find_cuts, repair_frontal_flips, repair_leg_swaps, resample_uniform
from .references import constant
from .result import AnalysisResult
from .steps import STEP_TIME_TOLERANCE, build_steps, mark_implausible
from .summary import summarize, withhold_sides
from .views import View, detect_view


def apply_capture_fps(lm: Landmarks, capture_fps: float | None) -> Landmarks:
    """Rescale time for a slow-motion clip: the file plays at its container rate, the phone filmed at
    ``capture_fps``. Frame times are multiplied by container fps / capture fps."""
    if not capture_fps:
        return lm
    container = lm.fps
    factor = container / capture_fps
    attrs = dict(lm.attrs)
    attrs["time_scale"] = {"capture_fps": capture_fps, "container_fps": container, "factor": factor}
    return lm.replace(time=lm.time * factor, attrs=attrs)


#: Contacts further than this fraction of a step from the fitted contact line leave the cadence fit.
CADENCE_OUTLIER_STEPS = 0.2
#: The cadence shown is the rhythm of the whole clip (label-free, from every frame:
#: :func:`gaitlab.events.rhythm`); the cadence of the counted contacts checks it and should agree
#: within this (steps/min), or the summary says they do not. On the development runners (seeds
#: 1000-1023 from behind, 1100-1138 from the side) the rhythm was the closer to the truth: from
#: the side 95 % within 0.23 steps/min against 0.85 for the counted contacts, from behind 0.48
#: against 0.71, 120 fps clips of 10-11 steps included ...
CADENCE_AGREEMENT_SPM = 1.0
#: ... in a clip of at least this many steps. A shorter clip shows :func:`short_clip_cadence`,
#: judged by what validation clips cut that short measured (:data:`gaitlab.accuracy.SHORT_CLIP`).
RHYTHM_MIN_STEPS = 10


def short_clip_cadence(rhythm_spm: float, counted_spm: float, view_kind: str) -> float:
    """The cadence shown for a clip of fewer than :data:`RHYTHM_MIN_STEPS` steps.

    Over a few steps both estimates are rough, and on development runners cut to 6-9 steps (seeds
    1100-1138 from the side, 1202-1823 from behind, 1901-1936 at 240 fps) their errors were
    unrelated (correlation -0.01). From the side the rhythm of the feet's separation, read on every
    frame, was 95 % within 0.81 steps/min against 3.18 for the counted contacts (which carry the
    near and the far leg's different timing, and a missed or added contact weighs heavily on a
    few): it is the cadence shown. From behind (the pelvis's bob against the counted midstances)
    neither was better (1.70 and 1.81) and their mean was 95 % within 1.20: the mean is shown, and
    in front too (12 development runners from seed 1953, most at 60 fps: rhythm 2.30, counted
    0.98, mean 1.35; on held-out front runners at 30 fps the counted midstances were far worse,
    which the published figure for short clips in front shows). Where one estimate is missing the
    other is shown."""
    if view_kind == "side" or not np.isfinite(counted_spm):
        return float(rhythm_spm) if np.isfinite(rhythm_spm) else float(counted_spm)
    if not np.isfinite(rhythm_spm):
        return float(counted_spm)
    return 0.5 * (float(rhythm_spm) + float(counted_spm))

#: Seen from behind or in front, which leg is the runner's left comes from BlazePose's labels
#: (:func:`gaitlab.views.label_order`); frames that disagree with the clip's majority are repaired
#: (:func:`gaitlab.preprocess.repair_frontal_flips`), but the majority itself may be mirrored: a
#: runner filmed in front read as filmed from behind. Where fewer than this share of frames agree,
#: the view is taken as uncertain and no value is given per side (set a priori: four frames in five).
FRONTAL_MIN_LABEL_AGREEMENT = 0.8


def cadence_from_steps(steps: pd.DataFrame, frontal: bool = False) -> dict:
    """Cadence (steps/min), overall and per stance side.

    Overall: the slope of contact time against step number, fitted by least squares over every
    valid contact, where each contact's step number is its time over the step period, rounded
    (starting from the mean step time, refined three times); contacts further than
    :data:`CADENCE_OUTLIER_STEPS` of a step from the fitted line (an extra contact, a mistimed one)
    are left out of the fit. Each foot's contacts get a line of their own, parallel to the other's
    (one slope, an intercept per foot): one foot's contacts found consistently earlier than the
    other's (the far leg's against the near leg's, from the side) shift every second contact, and
    over a clip of a few steps that tilts a single line by up to twice the shift over the clip. A
    missed contact leaves a gap in the numbering instead of a doubled step time. Per side: 60 / the
    mean step time of that side's valid steps (the step ending with that foot's contact).
    """
    out = {"both": float("nan"), "left": float("nan"), "right": float("nan")}
    ok = steps.valid & np.isfinite(steps.step_time_s)
    if not ok.any():
        return out
    period = float(steps.step_time_s[ok].mean())
    anchor = "ic_time_s" if steps.ic_time_s.notna().all() and not frontal else "midstance_time_s"
    valid = steps[steps.valid & steps[anchor].notna()]
    t = valid[anchor].to_numpy(float)
    left = (valid.side == "left").to_numpy(float)
    if t.size >= 3:
        keep = np.ones(t.size, bool)
        for _ in range(3):  # number the steps, refit the period, renumber
            k = np.round((t - t[0]) / period)
            # An intercept per foot where each has two contacts in the fit, else one line.
            per_foot = min(left[keep].sum(), (1 - left[keep]).sum()) >= 2
            design = np.column_stack([k, np.ones_like(k), left] if per_foot else [k, np.ones_like(k)])
            coef = np.linalg.lstsq(design[keep], t[keep], rcond=None)[0]
            period = float(coef[0])
            keep = np.abs(t - design @ coef) <= CADENCE_OUTLIER_STEPS * period
            if keep.sum() < 3:
                break
    out["both"] = 60.0 / period
    for side in ("left", "right"):
        sel = ok & (steps.side == side)
        if sel.any():
            out[side] = 60.0 / float(steps.step_time_s[sel].mean())
    return out


#: Walking cadence rarely exceeds this; jogging in place with the feet kept low does.
WALKING_MAX_CADENCE_SPM = 150.0
#: Both feet down in at least this fraction of frames is double support: walking.
WALKING_BOTH_FEET_DOWN = 0.20


#: Feet that move less than this many leg lengths relative to the pelvis are standing still (a still
#: runner measured 0.045, walking in place 0.085, running 0.28-1.1).
STILL_MAX_LEG_MOTION = 0.06
#: The runner must be in view in at least this fraction of the clip's frames.
MIN_IN_VIEW = 0.5


def check_rhythm(rh: dict, config: AnalysisConfig, fps: float) -> None:
    """Refuse clips that are not steady running, before looking for events: walking (double support
    at a walking rhythm), no rhythm at all, slow motion (unless the capture rate was given), or a
    clip that plays faster than it was filmed (a cadence no runner reaches)."""
    cadence, both = rh["cadence_spm"], rh["both_feet_down"]
    fastest = rh.get("fastest_cadence_spm", cadence)
    if np.isfinite(fastest) and fastest > constant("running_max_cadence_spm"):
        told = f"at --capture-fps {config.capture_fps:g} " if config.capture_fps else ""
        raise AnalysisError(
            f"cadence {fastest:.0f} steps/min {told}is faster than anyone runs: the clip plays faster than it was "
            f"filmed (the file says {fps:.0f} fps)",
            f"give the frame rate the phone filmed at, e.g. --capture-fps {_likely_capture_fps(fps, fastest):g}")
    if np.isfinite(rh.get("leg_motion", np.nan)) and rh["leg_motion"] < STILL_MAX_LEG_MOTION:
        raise AnalysisError("the person in view is standing still, not running",
                            "film the runner while running, for at least 10 seconds")
    fast = np.isfinite(cadence) and cadence >= WALKING_MAX_CADENCE_SPM
    if np.isfinite(both) and both >= WALKING_BOTH_FEET_DOWN and not fast:
        raise AnalysisError(
            f"this looks like walking, not running: both feet are on the ground together in {both:.0%} of frames",
            "gaitlab analyses running, which has a flight phase")
    if not np.isfinite(cadence):
        raise AnalysisError("no steady running rhythm found in the clip",
                            "film at least 10 seconds of steady running with the whole body in view")
    if cadence < constant("running_min_cadence_spm") and not config.capture_fps:
        raise AnalysisError(f"cadence {cadence:.0f} steps/min is too low for running: the clip looks like "
                            f"slow motion (the file plays at {fps:.0f} fps)",
                            f"give the frame rate the phone filmed at, e.g. --capture-fps {_likely_capture_fps(fps, cadence):g}")


#: Frame rates phones film at, for the suggestion when a clip's own rate is wrong.
PHONE_FRAME_RATES = (24, 25, 30, 48, 50, 60, 90, 100, 120, 240, 480, 960)


def _likely_capture_fps(file_fps: float, cadence: float) -> float:
    """The phone frame rate that would give a typical running cadence (170 steps/min)."""
    wanted = file_fps * 170.0 / cadence
    return min(PHONE_FRAME_RATES, key=lambda r: abs(np.log(r / wanted)))


def check_steps(steps: pd.DataFrame, view_kind: str = "side", pelvis_phase: float = float("nan")) -> None:
    """Refuse when too few usable steps were found, or, from the side, when the feet overlap on the
    ground (walking) and the pelvis does not move as it does in running (``pelvis_phase`` not
    positive, :func:`~gaitlab.events.pelvis_phase`). A runner with a short flight (a true 25 ms,
    landing 25 cm ahead at 2.4 m/s) can read as overlapping where contacts come a frame or two early,
    while the pelvis still dips at every midstance; that runner is analysed. From behind or in front
    contact and toe-off are estimated about midstance (:func:`~gaitlab.events.detect_events_frontal`)
    and contact times are not reported, so they do not decide walking there: :func:`check_rhythm`'s
    frames with both feet down does, for every view."""
    valid = steps[steps.valid]
    n_side = valid.side.value_counts()
    if len(valid) < 4 or min(n_side.get("left", 0), n_side.get("right", 0)) < 2:
        timed = steps[np.isfinite(steps.step_time_s)]
        by_foot = timed.groupby("side").step_time_s.median()
        if len(timed) >= 6 and by_foot.size == 2 and \
                abs(by_foot["left"] - by_foot["right"]) > STEP_TIME_TOLERANCE * timed.step_time_s.median():
            # Found plenty of contacts, but the steps onto one foot are long and onto the other short
            # by turns: one leg's contacts were timed off, and the step-time check dropped a leg.
            raise AnalysisError(
                f"too few steps to analyse: {len(valid)} usable foot contacts found; the steps onto the left "
                f"foot took {by_foot['left']:.2f} s and onto the right {by_foot['right']:.2f} s by turns, so one "
                f"leg's contacts could not be timed",
                "film at 60 frames/s or more, with both legs in view the whole time")
        raise AnalysisError(
            f"too few steps to analyse: {len(valid)} usable foot contacts found",
            "film at least 10 seconds of steady running with the whole body in view",
        )
    if view_kind != "side":
        return
    flight = valid.flight_time_s.dropna()
    if flight.size and np.mean(flight <= 0) >= constant("walking_min_double_support") and not pelvis_phase > 0:
        raise AnalysisError(
            f"this looks like walking, not running: both feet are on the ground together in "
            f"{np.mean(flight <= 0):.0%} of steps",
            "gaitlab analyses running, which has a flight phase",
        )


#: Pelvic drop is reported only where the clip's own checks say the waistband line followed the
#: pelvis (:func:`pelvis_verdict`). First, the line was tracked (fitted to at least
#: :data:`gaitlab.image.pelvis.MIN_QUALITY` of its window's columns, with colours either side that
#: differ by at least :data:`gaitlab.image.pelvis.MIN_CONTRAST`, and to at least
#: :data:`PELVIS_MIN_RELATIVE_QUALITY` of what the clip's typical frame fits) in at least this
#: fraction of the frames with the runner in view ...
PELVIS_MIN_TRACKED = 0.8
#: A frame's line counts only where it fits at least this fraction of the columns that the clip's
#: typical frame fits (the median quality over the frames with the runner in view): a line that
#: fits markedly fewer has lost the waistband over part of its width (a hand or hair crossing it,
#: the top's hem, a fold) and its tilt is that of whatever else it fits. On a rendered runner whose
#: waistband stood out of the shorts in stance, the line fitted 0.48 of the columns in stance
#: against 0.69 in flight and read 10 deg more drop there, while passing every other check.
PELVIS_MIN_RELATIVE_QUALITY = 0.8
#: ... second, it came back to the same tilt at every mid-flight, where the pelvis passes through
#: level, within this robust standard deviation (deg) about that level
#: (:func:`gaitlab.metrics.frontal.mid_flight_level`): every step's drop is read against it. On
#: independently rendered runners seen from behind it was 0.1-0.4 deg; a line that does not follow
#: the pelvis (the front of a top hanging over the waistband, hands crossing it in front) wandered
#: by 1.7 deg. A line that reads alternately above and below level in successive flights by more
#: than this (the waistband's arc seen from above or below hip height, tipped by the pelvis's
#: rotation) is withheld too, with its own reason: its tilt mixes rotation into every step's drop.
PELVIS_MAX_LEVEL_SD_DEG = 1.0
#: ... third, it was tracked through the stance of at least this many steps on each side. The knee
#: FPPA and hip adduction of a side need as many steps with the shank's edges found: over 187
#: validation clips, the knee FPPA from behind of the 22 sides with one or two such steps was 95 %
#: within 15.7 deg of the truth, against 10.9 over all 105 sides; with the rule, 8.9 over 83.
FRONTAL_MIN_STEPS = 3
#: From the front the line at the waist is the top's hem, crossed by the hands at every stride: on
#: the five rendered runners filmed from the front (independent and randomised) it read 3-8 deg
#: off the pelvis, twice while passing the checks above.
FRONT_PELVIS_REASON = ("from the front the top's hem and the swinging hands cover the waistband, so the line "
                       "seen at the waist does not follow the pelvis: film from behind for pelvic drop")
#: Gaps in the tracked line up to this many seconds are filled by interpolation; longer ones stay
#: unmeasured (the steps there get no pelvic drop).
PELVIS_MAX_GAP_S = 0.05
#: One-frame spikes are removed from the pelvis tilt only where the running median of
#: :func:`gaitlab.preprocess.despike` spans at least this many frames (from 43 frames/s). Over 3
#: frames every local extreme that stands 1.5 deg beyond its nearer neighbour counts as a spike, and
#: at 30 frames/s a large drop peaks that sharply (a development runner's 11.7 deg drops read 10.3
#: and 9.7 with the filter, 12.5 and 11.7 without). On 93 development runners seen from behind
#: (seeds 1001-1823), the frames the filter changed at 30 frames/s came out further from the true
#: hip line than before (median 1.5 against 1.2 deg, 60 frames), while at 60 and 120 frames/s they
#: came closer (1.4 against 1.9, and 0.9 against 1.5 deg).
PELVIS_DESPIKE_MIN_FRAMES = 5
#: Below this trunk length (shoulders to hips, pixels) a waistband that was not tracked is put
#: down to the runner's size in the frame.
PELVIS_SMALL_TRUNK_PX = 60


def pelvis_tilt_signal(lm: Landmarks, view: View) -> tuple[np.ndarray | None, dict]:
    """The pelvis tilt per frame in degrees, + = the runner's right side lower, NaN where the
    waistband line was not tracked, and the first of the checks of :func:`pelvis_verdict` (the
    fraction of frames tracked).

    From the waistband tilt frame signal (+ = image-right end lower): as is from behind, negated in
    front (the runner's right is then on the image's left). Frames without a line
    (:func:`gaitlab.image.pelvis.line_found`: below :data:`gaitlab.image.pelvis.MIN_QUALITY`, or
    of too little contrast), or below :data:`PELVIS_MIN_RELATIVE_QUALITY` of the clip's typical
    quality, are dropped; gaps up to :data:`PELVIS_MAX_GAP_S` are re-filled by interpolation, then
    one-frame spikes removed (:func:`gaitlab.preprocess.despike`, from
    :data:`PELVIS_DESPIKE_MIN_FRAMES` frames of median window).
    """
    from .image.pelvis import MIN_CONTRAST, line_contrast, line_found
    from .preprocess import despike, despike_window

    raw = lm.frame_signals.get("pelvis_tilt_deg")
    q = lm.frame_signals.get("pelvis_tilt_quality")
    if raw is None or q is None:
        return None, {"measurable": False, "reason": "no pelvis measurement in these landmarks (re-run from the video)"}
    seen = lm.detected & np.isfinite(raw) & (q > 0)
    typical = float(np.median(q[seen])) if seen.any() else 0.0
    good = seen & line_found(lm.frame_signals, lm.n_frames) & (q >= PELVIS_MIN_RELATIVE_QUALITY * typical)
    contrast = line_contrast(lm.frame_signals, lm.n_frames)
    typical_contrast = float(np.median(contrast[seen])) if seen.any() else 0.0
    frac = float(good.sum() / max(lm.detected.sum(), 1))
    shoulders = 0.5 * (lm.xy("left_shoulder") + lm.xy("right_shoulder"))
    hips = 0.5 * (lm.xy("left_hip") + lm.xy("right_hip"))
    trunk = np.linalg.norm(shoulders - hips, axis=1)[lm.detected]
    trunk_px = float(np.nanmedian(trunk)) if np.isfinite(trunk).any() else float("nan")
    info = {"tracked_fraction": round(frac, 3), "median_quality": round(float(np.nanmedian(q[lm.detected])), 3),
            "median_contrast": round(typical_contrast, 1) if np.isfinite(typical_contrast) else None,
            "trunk_px": round(trunk_px, 1)}
    if frac < PELVIS_MIN_TRACKED or good.sum() < 10:
        if trunk_px < PELVIS_SMALL_TRUNK_PX:
            reason = (f"the runner is too small in the frame to follow the waistband (trunk {trunk_px:.0f} px "
                      f"tall): film closer, so the runner fills most of the frame's height")
        elif typical_contrast < MIN_CONTRAST:
            reason = (f"no waistband shows: the colours just above and below the waist barely differ "
                      f"({typical_contrast:.0f} delta E, top, waistband and shorts of similar colour): a top that "
                      f"contrasts with the shorts, tucked in, shows it")
        else:
            reason = (f"the waistband line was found in only {frac:.0%} of frames (top and shorts of similar "
                      f"colour, or a top hanging over the waistband): a top that contrasts with the shorts, "
                      f"tucked in, shows it")
        info.update(measurable=False, reason=reason)
        return None, info
    idx = np.arange(lm.n_frames)
    tilt = np.interp(idx, idx[good], raw[good].astype(float))
    window = despike_window(lm.fps)
    if window >= PELVIS_DESPIKE_MIN_FRAMES:
        tilt, _ = despike(tilt, window)
    # Gaps longer than PELVIS_MAX_GAP_S stay unmeasured.
    run_id = np.cumsum(good)
    gap = np.bincount(run_id, weights=~good)[run_id] * ~good
    tilt = np.where(good | (gap <= PELVIS_MAX_GAP_S * lm.fps), tilt, np.nan)
    if view.kind == "front":
        tilt = -tilt
    info.update(measurable=True, reason="")
    return tilt, info


def pelvis_verdict(info: dict, tilt: np.ndarray | None, steps: pd.DataFrame, metrics: pd.DataFrame,
                   view_kind: str = "rear") -> dict:
    """Whether pelvic drop is reported for this clip, by the checks of :data:`PELVIS_MIN_TRACKED`,
    :data:`PELVIS_MAX_LEVEL_SD_DEG` and :data:`FRONTAL_MIN_STEPS`, in that order, and never from the
    front (:data:`FRONT_PELVIS_REASON`); ``reason`` says in one sentence why not and what to change
    when filming. Adds ``level_sd_deg`` and ``steps_tracked`` ({side: n}) to ``info``, and
    ``follows_pelvis`` False where the line traced at the waist is not the pelvis's (from the front,
    or not keeping level at mid-flight), so that nothing draws it as the pelvis."""
    info = dict(info)
    if view_kind == "front":
        info.update(measurable=False, reason=FRONT_PELVIS_REASON, follows_pelvis=False)
        return info
    if tilt is None or not info.get("measurable"):
        return info
    flight = mid_flight_level(tilt, steps)
    level_sd, sway = flight["spread"], flight["sway"]
    valid = steps.valid.to_numpy(bool) & np.isfinite(metrics.pelvic_drop_peak_deg.to_numpy(float))
    counts = {side: int((valid & (steps.side == side).to_numpy()).sum()) for side in ("left", "right")}
    info.update(level_sd_deg=round(level_sd, 2), steps_tracked=counts)
    info["follows_pelvis"] = bool(level_sd <= PELVIS_MAX_LEVEL_SD_DEG)
    if not level_sd <= PELVIS_MAX_LEVEL_SD_DEG and sway > PELVIS_MAX_LEVEL_SD_DEG:
        info.update(measurable=False, reason=(
            f"the line at the waist read alternately {sway:.1f} deg above and below level at successive "
            f"mid-flights, as a waistband seen from above or below hip height does while the pelvis rotates, "
            f"so its tilt mixes rotation with drop: film from behind with the phone at hip height"))
    elif not level_sd <= PELVIS_MAX_LEVEL_SD_DEG:
        info.update(measurable=False, reason=(
            f"the line at the waist did not come back to the same level at each mid-flight (spread "
            f"{level_sd:.1f} deg), so it does not follow the pelvis (no colour change at the waist, a top hanging "
            f"over the waistband, or hands crossing it): wear a top that contrasts with the shorts, tucked in, "
            f"and film from behind"))
    elif min(counts.values()) < FRONTAL_MIN_STEPS:
        info.update(measurable=False, reason=(
            f"the waistband was followed through only {counts['left']} left and {counts['right']} right "
            f"steps: film at least 10 seconds of steady running with the hips in view"))
    return info


KNEE_ANGLES = ("knee_fppa_deg", "hip_adduction_deg")


def frontal_knee_steps(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The steps table with the knee FPPA and hip adduction emptied on a side with fewer than
    :data:`FRONTAL_MIN_STEPS` valid steps that have them (the shank's edges found in the image,
    :mod:`gaitlab.image.limbs`, clear of the other leg), and why in one sentence (empty when both
    sides have enough)."""
    valid = table.valid.to_numpy(bool)
    found = valid & np.isfinite(table.knee_fppa_deg.to_numpy(float))
    counts = {side: (int((found & (table.side == side).to_numpy()).sum()),
                     int((valid & (table.side == side).to_numpy()).sum())) for side in ("left", "right")}
    few = [side for side, (n, _) in counts.items() if n < FRONTAL_MIN_STEPS]
    if not few:
        return table, ""
    out = table.copy()
    out.loc[out.side.isin(few), list(KNEE_ANGLES)] = np.nan
    where = " and ".join(f"{counts[side][0]} of {counts[side][1]} {side}" for side in few)
    return out, (f"the shank's edges were found in the image on only {where} steps, and a side needs "
                 f"{FRONTAL_MIN_STEPS} (the legs crossing in the image at midstance, or legs of a colour close to "
                 f"what is behind them): film from directly behind against a plain background that contrasts "
                 f"with the legs")


def estimate_roll_frontal(lm: Landmarks, pelvis_tilt: np.ndarray | None, steps: pd.DataFrame, view: View) -> dict:
    """Camera roll (deg, + = image turned clockwise) in a rear or front view.

    From the waistband at mid-flight, where the pelvis passes through level, when measured (its
    tilt there, turned back to image orientation);
    otherwise from the shoulder line over the clip (the shoulders are level on average in
    symmetric running). The pelvic drop does not need it (it is relative to mid-flight); hip
    adduction is measured against the vertical it gives.
    """
    from .geometry import tilt_deg

    ms = steps.midstance_frame.to_numpy(int)
    level = pelvis_level_deg(pelvis_tilt, steps) if pelvis_tilt is not None and (ms >= 0).sum() >= 2 else np.nan
    if np.isfinite(level):
        return {"roll_deg": level if view.kind == "rear" else -level, "method": "waistband at mid-flight"}
    ls, rs = lm.xy("left_shoulder"), lm.xy("right_shoulder")
    left_first = np.where((ls[:, 0] <= rs[:, 0])[:, None], ls, rs)
    right_first = np.where((ls[:, 0] <= rs[:, 0])[:, None], rs, ls)
    # tilt_deg is direction-agnostic in magnitude; sign by which end is lower, image-left to image-right.
    t = tilt_deg(left_first, right_first)
    sign = np.where(right_first[:, 1] >= left_first[:, 1], 1.0, -1.0)
    return {"roll_deg": float(np.nanmedian(np.abs(t) * sign)), "method": "shoulder line, clip median"}


def _mean_direction_deg(dx: np.ndarray, dy: np.ndarray) -> float:
    """The mean direction of the vectors (dx, dy) (image axes, y down) as an angle from image-up,
    + clockwise (toward image-right), in (-180, 180]; NaN without a finite vector."""
    ok = np.isfinite(dx) & np.isfinite(dy) & (np.hypot(dx, dy) > 0)
    if not ok.any():
        return float("nan")
    n = np.hypot(dx[ok], dy[ok])
    return float(np.degrees(np.arctan2(np.mean(dx[ok] / n), np.mean(-dy[ok] / n))))


def body_up_deg(lm: Landmarks) -> float:
    """Where the runner's head points in the picture: the mean direction from the hips' midpoint
    to the shoulders' over the frames with the runner, in degrees from image-up, + toward the
    image's right (0 upright; about +-90 lying on a side; about 180 upside down)."""
    det = lm.detected
    shoulders = 0.5 * (lm.xy("left_shoulder") + lm.xy("right_shoulder"))[det]
    up = shoulders - 0.5 * (lm.xy("left_hip") + lm.xy("right_hip"))[det]
    return _mean_direction_deg(up[:, 0], up[:, 1])


#: The runner counts as upright when the body's axis lies within this many degrees of image-up
#: (running trunk lean stays within about 20).
UPRIGHT_MAX_DEG = 45.0


def check_orientation(lm: Landmarks) -> None:
    """Refuse a picture that is not upright (a phone clip whose rotation tag is missing or wrong):
    every angle would be measured against the wrong vertical. The hint turns the clip upright
    without re-encoding it (FFmpeg's display rotation, counter-clockwise; the decoder's rotation
    already applied is taken into account)."""
    angle = body_up_deg(lm)
    if not np.isfinite(angle) or abs(angle) <= UPRIGHT_MAX_DEG:
        return
    if abs(angle) >= 180 - UPRIGHT_MAX_DEG:
        where, turn = "upside down", 180
    elif angle > 0:
        where, turn = "on its side (the runner's head points right)", 90
    else:
        where, turn = "on its side (the runner's head points left)", -90
    video = lm.attrs.get("video") or {}
    if video:
        applied = int(video.get("rotation_deg", 0))  # clockwise, as the decoder applied it
        tag = (turn - applied + 180) % 360 - 180 or 0
        tag = 180 if tag == -180 else tag
        name = video.get("name") or "clip.mp4"
        hint = (f"turn the clip upright without re-encoding: ffmpeg -display_rotation {tag} -i {name} -c copy "
                f"upright.mp4, then analyse upright.mp4")
        cause = ": the clip's rotation tag is missing or wrong"
    else:
        hint, cause = "run the pose tool on an upright video", ""
    raise AnalysisError(f"the picture is {where}{cause}", hint)


def runner_height_px(lm: Landmarks) -> float:
    """The runner's height in the picture: the median over frames with the runner of the vertical
    extent of the keypoints (nose to heel when all are found), in pixels."""
    det = lm.detected
    if not det.any():
        return float("nan")
    y = lm.image[det, :, 1]
    ok = np.isfinite(y).any(axis=1)
    if not ok.any():
        return float("nan")
    return float(np.median(np.nanmax(y[ok], axis=1) - np.nanmin(y[ok], axis=1)))


def check_runner_size(lm: Landmarks) -> None:
    """Refuse a runner too small in the picture to measure (a far or low-resolution camera): a
    pixel would be as large as the errors gaitlab validates."""
    height = runner_height_px(lm)
    least = constant("min_runner_height_px")
    if np.isfinite(height) and height < least:
        size = f" in the {lm.width}x{lm.height} picture" if lm.width and lm.height else ""
        raise AnalysisError(f"the runner is only {height:.0f} pixels tall{size}: too small to measure steps and angles "
                            f"(gaitlab needs at least {least:.0f})",
                            "film closer, or at a higher resolution, so the runner fills most of the frame height")


#: A run of frames facing one way must last at least this long (s) to count as a shot of its own.
VIEW_CHANGE_MIN_S = 1.0
#: ... and this share of its frames must agree on the facing direction.
VIEW_CHANGE_AGREEMENT = 0.7


def find_view_change(lm: Landmarks) -> int | None:
    """The frame index where a video joins two shots that see the runner differently (a hard cut
    with no black frames between: facing image-left, then image-right; or from behind, then in
    front), or None. Each frame votes for a direction (the side view's facing, from toes and nose,
    or the frontal view's rear/front order of the labelled shoulders and hips); the clip is split
    where the votes before and after differ most, and counts as two shots when each part lasts
    :data:`VIEW_CHANGE_MIN_S` and agrees within itself by :data:`VIEW_CHANGE_AGREEMENT` on
    opposite directions."""
    det = np.nonzero(lm.detected)[0]
    if det.size < 4:
        return None
    ls, rs = lm.xy("left_shoulder")[det], lm.xy("right_shoulder")[det]
    lh, rh = lm.xy("left_hip")[det], lm.xy("right_hip")[det]
    torso = np.linalg.norm(0.5 * (ls + rs) - 0.5 * (lh + rh), axis=1)
    span = np.abs(ls[:, 0] - rs[:, 0]) + np.abs(lh[:, 0] - rh[:, 0])
    side = np.nanmedian(span / np.maximum(2 * torso, 1e-6)) < 0.33
    if side:
        toe = 0.5 * (lm.xy("left_foot_index") + lm.xy("right_foot_index"))[det, 0]
        heel = 0.5 * (lm.xy("left_heel") + lm.xy("right_heel"))[det, 0]
        nose = lm.xy("nose")[det, 0]
        vote = np.nan_to_num(np.sign(toe - heel)) + np.nan_to_num(np.sign(nose - 0.5 * (ls + rs)[:, 0]))
    else:
        vote = np.nan_to_num(np.sign((rs[:, 0] - ls[:, 0]) + (rh[:, 0] - lh[:, 0])))
    vote = np.sign(vote)
    fps = lm.fps if np.isfinite(lm.fps) else 30.0
    least = int(VIEW_CHANGE_MIN_S * fps)
    n = vote.size
    if n < 2 * least:
        return None
    cum = np.concatenate([[0.0], np.cumsum(vote)])
    k = np.arange(least, n - least + 1)
    before, after = cum[k] / k, (cum[-1] - cum[k]) / (n - k)
    best = int(np.argmax(np.abs(before - after)))
    a, b = before[best], after[best]
    if a * b < 0 and min(abs(a), abs(b)) >= 2 * VIEW_CHANGE_AGREEMENT - 1:
        return int(det[k[best]])
    return None


def frontal_stage(clean: Landmarks, steps: pd.DataFrame, view: View) -> tuple[pd.DataFrame, dict]:
    """Per-step frontal metrics of a rear or front view, with ``camera_roll`` and ``pelvis`` (the
    checks of :func:`pelvis_verdict`) for the capture-quality record.

    Where the pelvis line did not pass its checks, the pelvic drop columns are NaN (the steps table
    keeps no numbers the clip itself says are not the pelvis's). The camera roll comes from the
    waistband at mid-flight only where the line passed, else from the shoulder line
    (:func:`estimate_roll_frontal`); it levels hip adduction, while the pelvic drop is relative to
    mid-flight and needs no roll."""
    tilt, info = pelvis_tilt_signal(clean, view)
    metrics = frontal_metrics(clean, steps, tilt)
    info = pelvis_verdict(info, tilt, steps, metrics, view.kind)
    if not info["measurable"]:
        # The clip's own checks say the line is not the pelvis: its per-step values are not pelvic drop.
        metrics[["pelvic_drop_deg", "pelvic_drop_peak_deg"]] = np.nan
    roll = estimate_roll_frontal(clean, tilt if info["measurable"] else None, steps, view)
    metrics["hip_adduction_deg"] = frontal_metrics(clean, steps, None, roll_deg=roll["roll_deg"])["hip_adduction_deg"]
    return metrics, {"camera_roll": roll, "pelvis": info}


def clean_landmarks(lm: Landmarks, view: View) -> Landmarks:
    """The landmarks every event and metric is computed from: resampled to a steady rate (variable
    frame rate clips), leg swaps repaired, gaps filled, spikes removed, smoothed
    (:mod:`gaitlab.preprocess`). Step frame numbers index these landmarks' time axis."""
    return fill_and_smooth(repair_frontal_flips(repair_leg_swaps(resample_uniform(lm), view), view))


def analyze_landmarks(lm: Landmarks, runner: RunnerInfo = RunnerInfo(),
                      config: AnalysisConfig = AnalysisConfig()) -> AnalysisResult:
    """Run every stage after pose estimation and return an :class:`AnalysisResult`.

    Raises :class:`~gaitlab.errors.AnalysisError` when the clip cannot give trustworthy numbers
    (frame rate too low, no runner, an oblique camera, too few steps, walking, slow motion).
    """
    lm = apply_capture_fps(lm, config.capture_fps)
    fps = lm.fps
    if not np.isfinite(fps) or fps < constant("min_fps"):
        raise AnalysisError(f"the frame rate ({fps:.0f} fps) is too low for running analysis",
                            f"film at {constant('timing_min_fps'):.0f} fps, or at least 30 fps")
    if fps > FPS_RANGE[1]:
        raise AnalysisError(f"the frame times say {fps:.3g} frames per second, faster than any camera films "
                            f"(at most {FPS_RANGE[1]:g})", "the clip's or the landmarks' times are damaged")
    if lm.detected.sum() < 10:
        raise AnalysisError("the runner is visible in too few frames to analyse")
    if lm.detected.mean() < MIN_IN_VIEW:
        seen = float(np.sum(np.diff(lm.time, append=lm.time[-1])[lm.detected]))
        raise AnalysisError(f"the runner is in view in only {lm.detected.mean():.0%} of the clip "
                            f"({seen:.1f} of {lm.time[-1] - lm.time[0]:.1f} s)",
                            "keep the runner's whole body in the frame for the whole clip")
    cuts = find_cuts(lm)
    if cuts.size:
        times = ", ".join(f"{lm.time[i]:.1f} s" for i in cuts[:6])
        raise AnalysisError(f"the video is a montage of {cuts.size + 1} separate shots (cuts at {times})",
                            "trim it to one continuous shot of the runner; gaitlab.analysis.rhythm_by_shot "
                            "gives the cadence of each shot")
    check_orientation(lm)
    check_runner_size(lm)
    view = detect_view(lm)
    if view.kind == "oblique":
        raise AnalysisError("the camera films the runner at an angle (neither side-on nor from behind or in front)",
                            "film side-on for sagittal metrics, or from directly behind for pelvic drop and knee valgus")
    clean = clean_landmarks(lm, view)
    rh = rhythm(clean, view)
    check_rhythm(rh, config, fps)
    change = find_view_change(lm)
    if change is not None:
        raise AnalysisError(f"the runner faces the other way from {lm.time[change]:.1f} s on: the video joins two "
                            "shots, or the runner turned around", "trim it to one stretch of running one way")
    stride_s = 120.0 / rh["cadence_spm"]
    if view.kind == "side":
        events = detect_events_side(clean, view.facing, stride_s)
    else:
        events = detect_events_frontal(clean, stride_s)
    if events.empty:
        raise AnalysisError("no running steps found in the clip",
                            "film at least 10 seconds of steady running with the feet in view")
    steps = build_steps(events, "initial_contact" if view.kind == "side" else "midstance")
    check_steps(steps, view.kind, rh["pelvis_phase"])
    cadence = cadence_from_steps(steps, frontal=view.kind != "side")
    check = {"counted_spm": cadence["both"], "rhythm_spm": rh["cadence_spm"],
             "agree": bool(abs(cadence["both"] - rh["cadence_spm"]) <= CADENCE_AGREEMENT_SPM)}
    # The rhythm is the cadence shown (check_rhythm has refused a clip without one), unless the
    # clip is too short for it alone.
    check["clip_steps"] = float((lm.time[-1] - lm.time[0]) * rh["cadence_spm"] / 60.0)
    check["rhythm_shown"] = bool(check["clip_steps"] >= RHYTHM_MIN_STEPS)
    cadence["both"] = (float(rh["cadence_spm"]) if check["rhythm_shown"]
                       else short_clip_cadence(rh["cadence_spm"], cadence["both"], view.kind))
    quality = {"fps": fps, "view": view.to_dict(), "detected_fraction": float(lm.detected.mean()),
               "cadence_check": check}
    not_measured: dict = {}
    if view.kind == "side":
        metrics = sagittal_metrics(clean, steps, view.facing, height_m=runner.height_m)
    else:
        metrics, frontal_quality = frontal_stage(clean, steps, view)
        quality.update(frontal_quality)
    quality["rhythm"] = rh
    table = mark_implausible(pd.concat([steps, metrics], axis=1), view.kind)
    if view.kind != "side":
        table, reason = frontal_knee_steps(table)
        not_measured = {m: reason for m in KNEE_ANGLES}
    pelvis = quality.get("pelvis", {})
    summary = summarize(table, view.kind, cadence, fps, near_side=view.near_side,
                        pelvis_measurable=pelvis.get("measurable", True), pelvis_reason=pelvis.get("reason", ""),
                        not_measured=not_measured, short_clip=not check["rhythm_shown"],
                        clip_steps=check["clip_steps"])
    if view.kind != "side" and view.confidence < FRONTAL_MIN_LABEL_AGREEMENT:
        quality["sides_uncertain"] = True
        summary = withhold_sides(summary, (
            f"gaitlab cannot tell whether the runner was filmed from behind or in front (the pose model saw the "
            f"runner's back in {view.confidence if view.kind == 'rear' else 1 - view.confidence:.0%} of frames), "
            f"so left and right may be swapped: film from directly behind, the runner filling most of the frame"))
    check = quality["cadence_check"]
    if not check["agree"]:
        both = (summary.metric == "cadence_spm") & (summary.side == "both")
        why = ("some contacts were missed or mistimed, so the rhythm is shown" if check["rhythm_shown"]
               or view.kind == "side" else "the clip is too short to prefer either, so their mean is shown")
        note = (f"the counted contacts give {check['counted_spm']:.1f} steps/min, the step rhythm of the whole clip "
                f"{check['rhythm_spm']:.1f}: {why}")
        # Where the cadence is withheld, its own reason stands.
        summary.loc[both & summary.measurable.astype(bool), "warning"] = note
    return AnalysisResult(landmarks=lm, view=view.to_dict(), events=events, steps=table, cadence=cadence,
                          quality=quality, summary=summary, runner=runner.to_dict(), config=config.to_dict())


def rhythm_by_shot(lm: Landmarks) -> pd.DataFrame:
    """Label-free cadence of each shot of a montage (shots split at :func:`find_cuts`).

    One row per shot: ``shot``, ``first_frame``, ``last_frame``, ``start_s``, ``end_s``, ``view``,
    ``cadence_spm``, ``both_feet_down``. Short shots give rough values (a 2.5 s shot holds about 7
    steps); this is a research aid, not a clinical measurement.
    """
    cuts = find_cuts(lm)
    bounds = np.concatenate([[0], cuts, [lm.n_frames]])
    rows = []
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        shot = lm.select(slice(int(a), int(b)))
        view = detect_view(shot)
        rh = rhythm(fill_and_smooth(shot), view) if view.kind != "oblique" and b - a >= 12 else \
            {"cadence_spm": float("nan"), "both_feet_down": float("nan"), "leg_motion": float("nan")}
        rows.append({"shot": k, "first_frame": int(shot.frame[0]), "last_frame": int(shot.frame[-1]),
                     "start_s": float(shot.time[0]), "end_s": float(shot.time[-1]), "view": view.kind,
                     "cadence_spm": rh["cadence_spm"], "both_feet_down": rh["both_feet_down"]})
    return pd.DataFrame(rows)
