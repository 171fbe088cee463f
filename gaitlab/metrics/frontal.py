"""Frontal-plane metrics per step, from a rear (or front) view, computed for all steps at once.

==========================  ======================================================================
pelvic_drop_deg             pelvis tilt at midstance relative to level (its tilt at mid-flight),
                            + = the swing side lower (contralateral pelvic drop, Bramah 2018);
                            NaN where the pelvis line was not tracked at midstance
pelvic_drop_peak_deg        the largest such drop between IC and TO; NaN where the line was
                            tracked in fewer than half of the stance's frames
knee_fppa_deg               frontal plane projection angle of the stance knee at the deepest knee
                            bend in stance (the midstance): thigh (hip keypoint -> knee on the shank
                            axis) against the shank axis measured from the image
                            (:mod:`gaitlab.image.limbs`), + = valgus; NaN where the shank's edges
                            were found, clear of the other leg (:func:`legs_overlap`), in fewer
                            than half of the frames around it
shank_axis_measured         True when that shank axis was found (so the two angles are given)
hip_adduction_deg           stance femur (hip keypoint -> knee on the shank axis) from vertical
                            at the same frames, + = knee toward the midline; NaN with the FPPA
==========================  ======================================================================

Pelvic tilt comes from a per-frame signal (degrees, + = the runner's right side lower in the image),
supplied by the caller: BlazePose's hip landmarks do not follow the pelvis (on rendered runners
with exact truth the hip-line tilt followed 0.2-0.3 of the true drop), so :mod:`gaitlab.image.pelvis`
measures the pelvis from the image. Drop is measured relative to the pelvis at mid-flight (:func:`pelvis_level_deg`), where it passes
through level, so a rolled camera and a constant pelvic obliquity cancel.

The frame of deepest knee bend is the midstance, where the trunk is lowest
(:func:`gaitlab.events.detect_events_frontal`): the body is lowest when the stance knee is most
flexed (peak stance knee flexion falls at 40-50 % of stance, Novacheck 1998). Knee flexion cannot
be read from behind, and the leg's length in the image does not stand in for it: the foot lands
ahead, farther from a camera behind, and perspective shortens the leg there more than the bend
does (on independently rendered runners the shortest hip-to-ankle distance fell at initial
contact, 7-9 frames at 60 fps before the deepest bend, where valgus had barely begun).
The knee and hip angles need the shank's own edges: BlazePose's knee and ankle keypoints drift
toward the midline and off the joint centres (at the same frames of independently rendered runners
its hip, knee and ankle keypoints gave FPPAs of -4.4 to +6.4 deg for a true 0-12), so where the
edges are not found the angles are not given rather than taken from the keypoints.

2D FPPA is a proxy: it does not track 3D knee abduction and did not differ between runners with
and without patellofemoral pain (about 4.0 vs 4.6 deg); report it beside pelvic drop and hip
adduction, never as a lone flag.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..geometry import fppa_deg, frontal_inclination_deg, project_onto_line
from ..landmarks import Landmarks
from ..image.limbs import segment_directions
from .sagittal import window_index

#: FPPA and hip adduction are the median over the frames within this fraction of the stance's
#: duration either side of the deepest knee bend (whole frames, rounded down: the midstance frame
#: alone at 30 fps, one either side at 60 fps, two at 120 fps). The knee's angle peaks there and
#: falls off fast: on rendered runners it dropped to half within a quarter of the stance, so a
#: fixed 35 ms window (a third of a 30 fps stance) read it 1-2 deg low.
FPPA_HALF_WINDOW_STANCE = 0.1

#: The other leg overlaps the stance shank in the image when one of its keypoints lies within this
#: many shank lengths of it: a shank is about a fifth of its length wide, so the two limbs' outlines
#: then overlap by half a width or more (a narrow step, or knees pulled together at midstance).
OVERLAP_CLEARANCE = 0.15

#: At the deepest bend the stance shank runs down within this angle of the vertical (valgus and
#: varus tilt it by 15 deg at most); a steeper one is not a stance shank (a wrong pose).
MAX_SHANK_TILT_DEG = 30.0
#: The shank's measured axis turns at most this far from the knee-ankle keypoints. On 24 development
#: runners seen from behind (seeds 1000-1023, every other stance frame), the axes turned 6-8 deg
#: from the keypoints were a median 3.0 deg off the true shank and those turned 8-10 deg 7.8 (an edge
#: of the swinging foot or the other leg beside the shank), against 0.7 for those within 6; leaving
#: them out took 95 % of the axes kept from within 5.7 deg of the true shank to 3.6, keeping 92 %.
MAX_SHANK_TURN_DEG = 6.0

FRONTAL_COLUMNS = ["pelvic_drop_deg", "pelvic_drop_peak_deg", "knee_fppa_deg", "hip_adduction_deg",
                   "deepest_knee_frame", "shank_axis_measured"]


def mid_flight_tilts(tilt: np.ndarray, steps: pd.DataFrame) -> dict[str, np.ndarray]:
    """The pelvis tilt at each mid-flight (halfway between the midstances of consecutive valid
    steps of opposite sides: both feet off the ground, the pelvis passing through level), by the
    side whose stance came before it; NaN tilts are left out."""
    keep = (steps.midstance_frame.to_numpy(int) >= 0) & steps.get("valid", pd.Series(True, steps.index)).to_numpy(bool)
    ms = steps.midstance_frame.to_numpy(int)[keep]
    side = steps.side.to_numpy()[keep]
    order = np.argsort(ms, kind="stable")
    ms, side = ms[order], side[order]
    pair = side[:-1] != side[1:]
    frames = np.clip((ms[:-1] + ms[1:]) // 2, 0, tilt.size - 1)[pair]
    values = tilt[frames]
    after = side[:-1][pair]
    return {s: values[(after == s) & np.isfinite(values)] for s in ("left", "right")}


def mid_flight_level(tilt: np.ndarray, steps: pd.DataFrame) -> dict:
    """The pelvis's tilt when level, and how well the line keeps to it, from :func:`mid_flight_tilts`.

    ``level``: halfway between the median tilt at the mid-flights after left stances and that after
    right stances (the median of all the tilt where there are none). The line at the waist is the
    back of a ring round the body; seen from above or below hip height, the pelvis's rotation,
    which turns one way in one flight and the other way in the next, tips that arc's visible part
    one way and the other, so the two sets of mid-flights read on either side of level.
    ``spread``: robust standard deviation (deg) of the mid-flight tilts about ``level``, whether they
    stray from flight to flight or alternately (NaN with fewer than three mid-flights).
    ``sway``: half the difference between the two sets' medians, the alternating part (0 with fewer
    than two mid-flights in either set).
    """
    flights = mid_flight_tilts(tilt, steps)
    medians = {side: float(np.median(v)) for side, v in flights.items() if v.size}
    level = float(np.mean(list(medians.values()))) if medians else float(np.nanmedian(tilt))
    every = np.concatenate(list(flights.values()))
    spread = float(1.4826 * np.median(np.abs(every - level))) if every.size >= 3 else float("nan")
    sway = (abs(medians["left"] - medians["right"]) / 2
            if min(v.size for v in flights.values()) >= 2 else 0.0)
    return {"level": level, "spread": spread, "sway": sway}


def pelvis_level_deg(tilt: np.ndarray, steps: pd.DataFrame) -> float:
    """The pelvis's tilt when level (``level`` of :func:`mid_flight_level`)."""
    return mid_flight_level(tilt, steps)["level"]


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points p from segments a-b (..., 2 each)."""
    ab = b - a
    t = np.clip(np.sum((p - a) * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-9), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)


def legs_overlap(lm: Landmarks, frames: np.ndarray, is_left: np.ndarray, knee: np.ndarray,
                 ankle: np.ndarray) -> np.ndarray:
    """True where the other leg (its knee, ankle, heel or toe keypoint) lies within
    :data:`OVERLAP_CLEARANCE` shank lengths of the stance shank ``knee``-``ankle`` (rows of
    ``frames``, one per step): there the other leg covers the shank's inner edge in the image and
    the edge found may be the other leg's."""
    n = lm.n_frames
    f = np.clip(frames, 0, n - 1)
    sel = (~is_left).reshape((-1,) + (1,) * (frames.ndim - 1) + (1,))  # the other leg's side
    length = np.linalg.norm(ankle - knee, axis=-1)
    near = np.zeros(frames.shape, bool)
    for part in ("knee", "ankle", "heel", "foot_index"):
        other = np.where(sel, lm.xy(f"left_{part}")[f], lm.xy(f"right_{part}")[f])
        with np.errstate(invalid="ignore"):
            near |= _segment_distance(other, knee, ankle) < OVERLAP_CLEARANCE * length
    return near


def frontal_metrics(lm: Landmarks, steps: pd.DataFrame, pelvis_tilt_deg: np.ndarray | None,
                    roll_deg: float = 0.0) -> pd.DataFrame:
    """Per-step frontal metrics (columns :data:`FRONTAL_COLUMNS`), one row per row of ``steps``.

    ``pelvis_tilt_deg``: (T,) pelvis tilt per frame (+ = runner's right side lower), NaN in frames
    where it was not tracked, or None when the pelvis could not be measured (pelvic drop columns
    are then NaN).
    ``roll_deg``: camera roll, used only for hip adduction (the other angles are relative).
    """
    n = lm.n_frames
    sides = steps.side.to_numpy()
    is_left = sides == "left"
    ic = steps.ic_frame.to_numpy(int)
    to = steps.to_frame.to_numpy(int)
    ms = steps.midstance_frame.to_numpy(int)
    has_to = to >= 0

    def kp(name: str, frames: np.ndarray, stance: bool = True) -> np.ndarray:
        frames = np.clip(frames, 0, n - 1)
        left, right = lm.xy(f"left_{name}")[frames], lm.xy(f"right_{name}")[frames]
        sel = (is_left if stance else ~is_left).reshape((-1,) + (1,) * (frames.ndim - 1) + (1,))
        return np.where(sel, left, right)

    stance_end = np.where(has_to, to, ic)
    idx, mask = window_index(ic, stance_end, n)
    deep = np.where(has_to & (ms >= 0), ms, -1)

    r = np.radians(roll_deg if np.isfinite(roll_deg) else 0.0)
    down = np.array([-np.sin(r), np.cos(r)])
    # The frames around the deepest bend, within the stance (one frame alone is noisy).
    half = np.floor(FPPA_HALF_WINDOW_STANCE * (stance_end - ic)).astype(int)
    width = int(half.max(initial=0))
    offsets = np.arange(-width, width + 1)
    near = np.clip(np.maximum(deep, 0)[:, None] + np.clip(offsets[None, :], -half[:, None], half[:, None]),
                   ic[:, None], stance_end[:, None])
    near = np.clip(near, 0, n - 1)
    hip, knee, ankle = kp("hip", near), kp("knee", near), kp("ankle", near)
    other_hip = kp("hip", near, stance=False)
    # The shank as its own edges show it (BlazePose draws the ankles toward the midline), with the
    # knee keypoint moved onto that axis: the frames where the edges were not found are left out.
    shank_dir, shank_centre, found = segment_directions(lm.frame_signals, "shank", near, knee, ankle,
                                                        quality="width_quality")
    found &= ~legs_overlap(lm, near, is_left, knee, ankle)
    unit = shank_dir / np.linalg.norm(shank_dir, axis=-1, keepdims=True)
    # A stance shank seen from behind or in front runs down, near the vertical, and near the keypoints.
    found &= np.sum(unit * down, axis=-1) >= np.cos(np.radians(MAX_SHANK_TILT_DEG))
    keypoint_unit = (ankle - knee) / np.linalg.norm(ankle - knee, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        found &= np.sum(unit * keypoint_unit, axis=-1) >= np.cos(np.radians(MAX_SHANK_TURN_DEG))
    knee_joint = project_onto_line(knee, shank_centre, unit)
    shank_measured = has_to & (found.mean(axis=1) >= 0.5)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        fppa = np.nanmedian(np.where(found, fppa_deg(hip, knee_joint, knee_joint + unit, other_hip), np.nan), axis=1)
        adduction = np.nanmedian(np.where(found, frontal_inclination_deg(hip, knee_joint, other_hip, down), np.nan),
                                 axis=1)
    fppa = np.where(shank_measured, fppa, np.nan)
    adduction = np.where(shank_measured, adduction, np.nan)

    drop = np.full(len(steps), np.nan)
    drop_peak = np.full(len(steps), np.nan)
    if pelvis_tilt_deg is not None and np.isfinite(pelvis_tilt_deg).any():
        tilt = np.asarray(pelvis_tilt_deg, float)
        level = pelvis_level_deg(tilt, steps)
        # Left stance: the right (swing) side drops, which is + tilt; right stance: - tilt.
        sign = np.where(is_left, 1.0, -1.0)
        drop = np.where(ms >= 0, sign * (tilt[np.clip(ms, 0, n - 1)] - level), np.nan)
        win = np.where(mask, sign[:, None] * (tilt[idx] - level), np.nan)
        tracked = np.isfinite(win).sum(axis=1) >= 0.5 * mask.sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            drop_peak = np.where(has_to & tracked, np.nanmax(np.where(mask, win, -np.inf), axis=1), np.nan)
        drop_peak = np.where(np.isfinite(drop_peak), drop_peak, np.nan)

    out = pd.DataFrame({
        "pelvic_drop_deg": drop,
        "pelvic_drop_peak_deg": drop_peak,
        "knee_fppa_deg": fppa,
        "hip_adduction_deg": adduction,
        "deepest_knee_frame": deep,
        "shank_axis_measured": shank_measured,
    }, index=steps.index)
    return out[FRONTAL_COLUMNS]
